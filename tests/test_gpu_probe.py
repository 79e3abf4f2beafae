"""The GPU probe's CPU and skip paths, run for real as a script (as inside an image), with stand-ins on PATH/PYTHONPATH.

No GPU here: a stand-in ``nvidia-smi`` makes a driver visible, stand-in ``torch``/``cv2``
modules and an ``ffmpeg`` script say what an image would hold. The GPU paths themselves run
on a lent GPU machine (see the build guide, "GPU checks").
"""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from airlock import gpu_probe

PROBE = Path(gpu_probe.__file__)


def _probe(tmp_path: Path, *args: str, smi: str | None = None, modules: dict[str, str] | None = None,
           ffmpeg: str | None = None, lib_dir: Path | None = None) -> tuple[int, dict[str, tuple[str, str]]]:
    """Run the probe with python -I-like isolation: PATH has only the stand-ins (and sh), PYTHONPATH only the stand-in modules."""
    bin_dir, mod_dir = tmp_path / "bin", tmp_path / "mods"
    bin_dir.mkdir(exist_ok=True)
    mod_dir.mkdir(exist_ok=True)
    if smi is not None:
        (bin_dir / "nvidia-smi").write_text(f"#!/bin/sh\necho '{smi}'\n")
        (bin_dir / "nvidia-smi").chmod(0o755)
    for name, code in (modules or {}).items():
        (mod_dir / f"{name}.py").write_text(code)
    argv = [*args]
    if ffmpeg is not None:
        (bin_dir / "ffmpeg").write_text(ffmpeg)
        (bin_dir / "ffmpeg").chmod(0o755)
        argv += ["--ffmpeg", str(bin_dir / "ffmpeg")]
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "PYTHONPATH": str(mod_dir), "PYTHONNOUSERSITE": "1"}
    if lib_dir is not None:
        env["LD_LIBRARY_PATH"] = str(lib_dir)
    proc = subprocess.run([sys.executable, "-S", "-", *argv], input=PROBE.read_text(), capture_output=True, text=True, env=env, timeout=120)
    rows = {}
    for line in proc.stdout.splitlines():
        check, status, detail = line[:13].strip(), line[15:19].strip(), line[21:]
        rows[check] = (status, detail)
    assert proc.stderr == "", proc.stderr
    return proc.returncode, rows


def test_without_a_gpu_every_check_is_a_skip_that_says_why(tmp_path: Path) -> None:
    """No driver, no torch, cv2, FFmpeg or TensorRT: seven skips, each with its reason, exit 0."""
    code, rows = _probe(tmp_path)
    assert code == 0
    assert {k: v[0] for k, v in rows.items()} == {k: "skip" for k in ("driver", "torch matmul", "cudnn conv", "cv2.cuda", "nvdec h264", "nvenc h264", "tensorrt")}
    assert rows["driver"][1].startswith("no NVIDIA driver visible (run the image with --gpus all")
    assert rows["torch matmul"][1] == "torch is not installed in the image"
    assert rows["nvdec h264"][1] == "no FFmpeg at /opt/ffmpeg/bin/ffmpeg"


@pytest.mark.parametrize(("driver", "status"), [("470.57.02, Tesla T4", "FAIL"), ("580.159.04, NVIDIA H200", "ok"), ("525.60.13, NVIDIA A10", "ok")])
def test_driver_is_checked_against_the_images_minimum(tmp_path: Path, driver: str, status: str) -> None:
    """A driver older than --min-driver fails (exit 1) naming both versions; an equal or newer one passes."""
    code, rows = _probe(tmp_path, "--min-driver", "525.60.13", smi=driver)
    assert rows["driver"][0] == status and driver.split(",")[0] in rows["driver"][1]
    assert code == (1 if status == "FAIL" else 0)
    if status == "FAIL":
        assert rows["driver"][1] == "Tesla T4: driver 470.57.02 is older than the image's minimum 525.60.13"


#: What NVML answers on the H200 the probe ran on (2026-11-26): a stand-in with NVML's own
#: entry points and signatures, so the probe's ctypes calls run for real.
FAKE_NVML = r"""
#include <string.h>
int nvmlInit_v2(void) { return 0; }
int nvmlShutdown(void) { return 0; }
int nvmlSystemGetDriverVersion(char *v, unsigned n) { strncpy(v, "580.159.04", n); return 0; }
int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **h) { *h = (void *)0x1; return i == 0 ? 0 : 2; }
int nvmlDeviceGetName(void *h, char *name, unsigned n) { strncpy(name, "NVIDIA H200", n); return 0; }
"""


@pytest.mark.parametrize(("minimum", "status"), [("515.43.04", "ok"), ("999.0", "FAIL")])
def test_without_nvidia_smi_the_driver_is_read_through_nvml(tmp_path: Path, minimum: str, status: str) -> None:
    """No nvidia-smi on PATH (the container toolkit may mount none) and no /proc version file (a VM
    seen on an H100 has none): the driver's version and GPU name come from libnvidia-ml.so.1."""
    lib = tmp_path / "lib"
    lib.mkdir()
    (tmp_path / "nvml.c").write_text(FAKE_NVML)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(lib / "libnvidia-ml.so.1"), str(tmp_path / "nvml.c")], check=True)
    code, rows = _probe(tmp_path, "--min-driver", minimum, lib_dir=lib)
    assert rows["driver"][0] == status
    expected = "NVIDIA H200: driver 580.159.04 " + (">= 515.43.04" if status == "ok" else "is older than the image's minimum 999.0")
    assert rows["driver"][1] == expected
    assert code == (0 if status == "ok" else 1)


def test_nvml_absent_is_no_driver() -> None:
    """On this machine (no NVIDIA library) the NVML path reports nothing rather than failing."""
    assert gpu_probe._nvml_driver() is None


TORCH_NO_CUDA = """
__version__ = "2.3.1+cu121"
class version: cuda = "12.1"
class cuda:
    @staticmethod
    def is_available(): return False
"""


def test_torch_without_a_device_is_a_skip_without_driver_and_a_failure_with_one(tmp_path: Path) -> None:
    """torch that sees no device: a skip when no driver is visible, a FAIL when one is (the image cannot use the GPU)."""
    code, rows = _probe(tmp_path, modules={"torch": TORCH_NO_CUDA})
    assert code == 0 and rows["torch matmul"] == ("skip", "torch 2.3.1+cu121 (CUDA 12.1) sees no CUDA device (no driver visible)")
    code, rows = _probe(tmp_path, smi="580.159.04, NVIDIA H200", modules={"torch": TORCH_NO_CUDA})
    assert code == 1 and rows["torch matmul"][0] == "FAIL" and "although the driver is visible" in rows["torch matmul"][1]
    assert rows["cudnn conv"][0] == "FAIL"


@pytest.mark.parametrize(
    ("cv2", "gpu", "status", "words"),
    [
        ("__version__ = '4.10.0'\ndef getBuildInformation(): return 'NVIDIA CUDA: NO'\n", False, "skip", "OpenCV 4.10.0 is built without CUDA"),
        ("__version__ = '4.10.0'\ndef getBuildInformation(): return '  NVIDIA CUDA:    YES (ver 11.5)'\n"
         "class cuda:\n    @staticmethod\n    def getCudaEnabledDeviceCount(): return 0\n", True, "FAIL", "sees no device although the driver is visible"),
        ("__version__ = '4.10.0'\ndef getBuildInformation(): return '  NVIDIA CUDA:    YES (ver 11.5)'\n"
         "class cuda:\n    @staticmethod\n    def getCudaEnabledDeviceCount(): return 0\n", False, "skip", "sees no device"),
    ],
    ids=["built without CUDA", "CUDA build, driver visible, no device", "CUDA build, no driver"],
)
def test_cv2_without_cuda_or_without_a_device(tmp_path: Path, cv2: str, gpu: bool, status: str, words: str) -> None:
    """OpenCV built without CUDA is a skip; built with CUDA but seeing no device is a FAIL only where a driver is visible."""
    code, rows = _probe(tmp_path, smi="580.159.04, NVIDIA H200" if gpu else None, modules={"cv2": cv2})
    assert rows["cv2.cuda"][0] == status and words in rows["cv2.cuda"][1]


def _ffmpeg_script(hwaccels: str, decoders: str, encoders: str) -> str:
    return (
        "#!/bin/sh\n"
        f'case "$2" in -hwaccels) printf "Hardware acceleration methods:\\n{hwaccels}\\n";; '
        f'-decoders) printf "{decoders}\\n";; -encoders) printf "{encoders}\\n";; *) exit 1;; esac\n'
    )


def test_ffmpeg_without_cuda_skips_nvdec_and_nvenc_naming_what_is_missing(tmp_path: Path) -> None:
    """An FFmpeg without the cuda hwaccel, h264_cuvid or h264_nvenc: both video checks skip and say which part is absent."""
    code, rows = _probe(tmp_path, smi="580.159.04, NVIDIA H200", ffmpeg=_ffmpeg_script("vdpau", " V..... mjpeg", " V..... mjpeg"))
    assert rows["nvdec h264"] == ("skip", "FFmpeg is built without the cuda hwaccel and h264_cuvid")
    assert rows["nvenc h264"] == ("skip", "FFmpeg is built without h264_nvenc")


def test_ffmpeg_with_cuda_but_no_driver_says_what_it_has(tmp_path: Path) -> None:
    """An FFmpeg with cuda and h264_cuvid on a machine with no driver: skips that name what the image has."""
    code, rows = _probe(tmp_path, ffmpeg=_ffmpeg_script("cuda", " V..... h264_cuvid", " V..... h264_nvenc"))
    assert code == 0
    assert rows["nvdec h264"] == ("skip", "FFmpeg has cuda and h264_cuvid; no driver visible")
    assert rows["nvenc h264"] == ("skip", "FFmpeg has h264_nvenc; no driver visible")


def test_a_failed_nvdec_decode_is_a_failure_with_ffmpegs_last_line(tmp_path: Path) -> None:
    """With a driver visible, a decode that FFmpeg cannot do is a FAIL carrying FFmpeg's last line (exit 1)."""
    script = _ffmpeg_script("cuda", " V..... h264", " V..... mjpeg").replace(
        "*) exit 1;;", '*) echo "[h264 @ 0x1] No device available for decoder: device type cuda needed" >&2; exit 1;;'
    )
    code, rows = _probe(tmp_path, smi="580.159.04, NVIDIA H200", ffmpeg=script)
    assert code == 1 and rows["nvdec h264"][0] == "FAIL"
    assert rows["nvdec h264"][1] == "-hwaccel cuda failed: [h264 @ 0x1] No device available for decoder: device type cuda needed"


def test_the_embedded_clip_and_model_are_the_recorded_files() -> None:
    """The H.264 clip (10 frames of testsrc, 320x240, baseline) and the one-node ONNX model are the bytes recorded when they were made."""
    clip = base64.b64decode(gpu_probe.CLIP_H264)
    assert hashlib.sha256(clip).hexdigest() == "125a02b25c00dc029b0e76682833ef35494e4d42c75fa1eb0352afa3fd5d8cba"
    assert clip[:4] == b"\x00\x00\x00\x01" and (clip[4] & 0x1F) == 7  # Annex B, starting with an SPS
    model = base64.b64decode(gpu_probe.RELU_ONNX)
    assert hashlib.sha256(model).hexdigest() == "6b1eb89d4e913bfb28248b1fc21102406e4c9db3b7efae39c5615029e7314ae6" and b"Relu" in model


def test_the_probe_imports_only_the_standard_library_at_the_top() -> None:
    """It must start in any image: every module it imports outside a check is in the standard library."""
    proc = subprocess.run([sys.executable, "-S", "-I", "-c", f"import runpy; runpy.run_path({str(PROBE)!r}, run_name='probe')"],
                          capture_output=True, text=True, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ CUDA once: the inventory's pure parts


def test_cuda_sonames_and_twice_detection() -> None:
    """A library's soname is what the loader asks for; two files with one soname (wheel and base) are CUDA twice, one is not."""
    from airlock.report import CudaLib, cuda_twice, parse_cuda_inventory

    libs = parse_cuda_inventory(
        "/opt/venv/lib/python3.11/site-packages/nvidia/cublas/lib/libcublas.so.12\t100\twheel nvidia_cublas_cu12-12.1.3.1\n"
        "/usr/local/cuda-12.1/lib64/libcublas.so.12.1.3.1\t200\tdeb libcublas-12-1\n"
        "/usr/lib/x86_64-linux-gnu/libcudnn.so.8.9.2\t300\tno package\n"
        "/opt/opencv/lib/libnppc.so.11\t5\tcompiled part opencv\n"
        "garbage line\n"
    )
    assert [c.soname for c in libs] == ["libcublas.so.12", "libcublas.so.12", "libcudnn.so.8", "libnppc.so.11"]
    twice = cuda_twice(libs)
    assert list(twice) == ["libcublas.so.12"] and [c.origin for c in twice["libcublas.so.12"]] == ["wheel nvidia_cublas_cu12-12.1.3.1", "deb libcublas-12-1"]
    assert cuda_twice([CudaLib("/x/libcudart.so.12", 1, "no package")]) == {}
