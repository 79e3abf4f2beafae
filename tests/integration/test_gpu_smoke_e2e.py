"""inv smoke --gpu on this machine's engine (no GPU runtime), and the GPU probe run in the real demo image."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from airlock import docker, gpu_probe
from tests.conftest import DEMO, REPO, inv

pytestmark = [pytest.mark.docker]


def test_smoke_gpu_without_a_gpu_runtime_is_one_line_and_exit_6(built_demo: str) -> None:
    """On an engine that cannot give a container the GPUs, inv smoke --gpu stops with one line naming the image, exit 6."""
    assert docker.gpu_runtime() is None, "this engine has a GPU runtime: the probe's GPU paths can run here"
    proc = inv(REPO, "smoke", "--preset", DEMO, "--gpu")
    assert proc.returncode == 6, proc.stderr
    assert proc.stderr.strip().splitlines() == [
        f"airlock: error: {built_demo}: this Docker engine cannot give a container the GPUs (no nvidia runtime, no NVIDIA container toolkit); "
        "run inv smoke --gpu on a GPU machine with the toolkit (docs/build-guide.md, GPU checks)"
    ]


def test_probe_runs_in_the_demo_image_and_skips_with_reasons(built_demo: str) -> None:
    """The probe on the demo runtime's own Python, offline, no GPU: OpenCV without CUDA and FFmpeg without NVDEC are skips saying so; exit 0."""
    proc = subprocess.run(
        ["docker", "run", "--rm", "-i", "--network=none", "--entrypoint", "/opt/venv/bin/python", built_demo, "-"],
        input=Path(gpu_probe.__file__).read_bytes(), capture_output=True, timeout=300,
    )
    out = proc.stdout.decode()
    assert proc.returncode == 0, out + proc.stderr.decode()
    rows = {line[:13].strip(): (line[15:19].strip(), line[21:]) for line in out.splitlines()}
    assert rows["driver"][0] == "skip"
    assert rows["torch matmul"] == ("skip", "torch is not installed in the image")
    assert rows["cv2.cuda"][0] == "skip" and rows["cv2.cuda"][1].endswith("is built without CUDA")
    assert rows["nvdec h264"] == ("skip", "FFmpeg is built without the cuda hwaccel and h264_cuvid")
    assert rows["tensorrt"] == ("skip", "TensorRT is not in the image")
