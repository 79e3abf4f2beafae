"""CUDA once, on a real image: inv report lists each CUDA library with its origin, and smoke fails an image carrying one twice.

The image is the demo runtime plus a stand-in cuBLAS in two places, the way a torch
runtime on a CUDA base carries it: once from the nvidia-cublas-cu12 wheel (its RECORD
lists the file) and once under /usr/local/cuda (no package owns it).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, inv

pytestmark = [pytest.mark.docker]

TAG = "airlock-test/cuda-twice:runtime"
WHEEL_LIB = "/opt/venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12"
BASE_LIB = "/usr/local/cuda-12.1/targets/x86_64-linux/lib/libcublas.so.12.1.3.1"


@pytest.fixture
def cuda_twice_image(built_demo: str, tmp_path: Path) -> str:
    ctx = tmp_path / "ctx"
    (ctx / "lib").mkdir(parents=True)
    (ctx / "lib" / "libcublas.so.12").write_bytes(b"\x7fELF stand-in cublas from the wheel")
    (ctx / "lib" / "libcublas.so.12.1.3.1").write_bytes(b"\x7fELF stand-in cublas from the CUDA base")
    (ctx / "RECORD").write_text("nvidia/cublas/lib/libcublas.so.12,sha256=x,35\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {built_demo}\n"
        f"COPY lib/libcublas.so.12 {WHEEL_LIB}\n"
        "COPY RECORD /opt/venv/lib/python3.11/site-packages/nvidia_cublas_cu12-12.1.3.1.dist-info/RECORD\n"
        f"COPY lib/libcublas.so.12.1.3.1 {BASE_LIB}\n"
    )
    subprocess.run(["/usr/bin/docker", "build", "--network=none", "-q", "-t", TAG, str(ctx)], check=True, capture_output=True,
                   env={**os.environ, "DOCKER_BUILDKIT": "1"})
    yield TAG
    subprocess.run(["docker", "rmi", "-f", TAG], capture_output=True)


def test_report_lists_cuda_libraries_with_their_origin_and_flags_twice(cuda_twice_image: str) -> None:
    """inv report --json: both files, the wheel that owns one (from its RECORD), 'no package' for the other, and libcublas.so.12 twice."""
    proc = inv(REPO, "report", "--preset", DEMO, "--tag", cuda_twice_image, "--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert {(c["path"], c["origin"], c["soname"]) for c in data["cuda"]} == {
        (WHEEL_LIB, "wheel nvidia_cublas_cu12-12.1.3.1", "libcublas.so.12"),
        (BASE_LIB, "no package", "libcublas.so.12"),
    }
    assert data["cuda_twice"] == ["libcublas.so.12"]


def test_smoke_fails_an_image_with_a_cuda_library_twice(cuda_twice_image: str, built_demo: str) -> None:
    """inv smoke: the 'CUDA once' check names the soname and both paths, and the run exits 1; the demo itself passes it."""
    proc = inv(REPO, "smoke", "--preset", DEMO, "--tag", cuda_twice_image)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = next(ln for ln in proc.stdout.splitlines() if ln.startswith("CUDA once"))
    assert f"twice: libcublas.so.12 ({WHEEL_LIB}, {BASE_LIB})" in line
    assert "CUDA once" in proc.stderr.splitlines()[-1]
    ok = inv(REPO, "smoke", "--preset", DEMO)
    assert ok.returncode == 0 and any(ln.startswith("CUDA once") and ln.rstrip().endswith("ok") for ln in ok.stdout.splitlines()), ok.stdout
