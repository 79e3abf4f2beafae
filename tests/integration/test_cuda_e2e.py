"""The shipped CUDA preset built end to end here: OpenCV compiled with CUDA, FFmpeg with NVDEC, torch's CUDA wheels, CUDA once.

``ubuntu22.04-cuda11.5-torch2.0`` uses only what these machines reach: Ubuntu 22.04
bootstrapped (no nvidia/cuda image), Ubuntu's CUDA 11.5 toolkit in the builder (nvcc with
g++-10), nv-codec-headers for FFmpeg, and PyPI's torch 2.0.1 with its nvidia-*-cu11 wheels,
which are also where the runtime's OpenCV finds cuBLAS, cuFFT, NPP and cudart
(``cuda.runtime: "wheels"``). The test takes that preset unchanged but for a lean OpenCV
(BUILD_LIST: the CUDA modules the issue names, videoio on the preset's FFmpeg, python3;
dnn off; one SASS architecture, 7.5, plus PTX 8.6 that a newer GPU's driver compiles), so a
cold build fits CI. Its committed lock stays fresh: OpenCV's section is not a lock input.

No GPU here: the checks are what a CPU can see. Every shared object under /opt and
site-packages resolves (ldd) except the driver's own libraries, which the NVIDIA runtime
mounts from the host; cv2 is the one built from source, with CUDA; FFmpeg has h264_cuvid and
the cuda hwaccel; torch says CUDA 11.7; cuDNN loads and reports 8.5; the runtime holds no
CUDA .deb and each CUDA library once; the image's minimum-driver label is torch's CUDA's.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import REPO, clone_project, inv
from tests.integration.conftest import assert_links_opt_ffmpeg, docker_json, docker_out, drop_preset_images, ok

#: a cold build (nothing in BuildKit's cache) compiles OpenCV's CUDA modules: about 45 min on 2 cores
pytestmark = [pytest.mark.docker, pytest.mark.network, pytest.mark.timeout(5400)]

NAME = "ubuntu22.04-cuda11.5-torch2.0"
BUILD_LIST = "cudev,core,imgproc,imgcodecs,videoio,cudaarithm,cudaimgproc,cudawarping,python3"
#: the driver's libraries: never in an image, the NVIDIA container runtime mounts the host's
HOST_DRIVER_LIBS = ("libcuda.so.1", "libnvcuvid.so.1", "libnvidia-encode.so.1", "libnvidia-ml.so.1")
#: torchaudio 2.0's optional backends, loaded only when present: FFmpeg 4's libraries (sonames
#: libavformat.so.58...; the image's FFmpeg is the preset's 5.1, so.59) and the flashlight-text
#: package's decoder library.
TORCHAUDIO_OPTIONAL = re.compile(r"/torchaudio/lib/\S+\.so: \s*(lib(av|sw)\w+\.so\.\d+|libflashlight-text\.so) => not found")

_LDD_ALL = r"""
sp=/opt/venv/lib/python3.11/site-packages
n=0
for f in $(find /opt/ffmpeg /opt/opencv /opt/app -type f \( -name '*.so' -o -name '*.so.*' \) 2>/dev/null | sort); do
    n=$((n + 1)); ldd "$f" 2>/dev/null | grep 'not found' | sed "s|^|$f: |"
done
# A wheel's libraries are found the way their loaders find them: beside themselves, in the
# package's auditwheel folder (<pkg>.libs, through the extension's RPATH), and in torch/lib,
# which `import torch` has loaded before torchvision's and torchaudio's extensions.
for f in $(find "$sp" -type f \( -name '*.so' -o -name '*.so.*' \) | sort); do
    rel=${f#"$sp"/}; top=${rel%%/*}; top=${top%.libs}
    n=$((n + 1)); LD_LIBRARY_PATH="$(dirname "$f"):$sp/$top.libs:$sp/torch/lib" ldd "$f" 2>/dev/null | grep 'not found' | sed "s|^|$f: |"
done
echo "files: $n"
"""

_PY_CHECKS = r"""
import ctypes, glob, json, re, sys
import cv2, torch
info = cv2.getBuildInformation()
cudnn = glob.glob(sys.prefix + "/lib/python3.11/site-packages/nvidia/cudnn/lib/libcudnn.so.8")
lib = ctypes.CDLL(cudnn[0]) if cudnn else None
if lib is not None:
    lib.cudnnGetVersion.restype = ctypes.c_size_t
print(json.dumps({
    "cv2_file": cv2.__file__,
    "cv2_cuda": bool(re.search(r"NVIDIA CUDA:\s+YES", info)),
    "cv2_modules": sorted(set((re.search(r"To be built:\s*(.*)", info) or [None, ""])[1].split()) & {"cudaarithm", "cudaimgproc", "cudawarping"}),
    "cv2_archs": (re.search(r"NVIDIA GPU arch:\s*(.*)", info) or [None, ""])[1].strip(),
    "cv2_ptx": (re.search(r"NVIDIA PTX archs:\s*(.*)", info) or [None, ""])[1].strip(),
    "torch_cuda": torch.version.cuda,
    "cudnn": lib.cudnnGetVersion() if lib is not None else None,
}))
"""


def _write_lean_preset(site: Path) -> None:
    path = site / "presets" / f"{NAME}.json"
    data = json.loads(path.read_text())
    oc = data["opencv"]
    oc["dnn"] = False
    oc["cmake_flags"] = [f for f in oc["cmake_flags"] if not f.startswith(("-DCUDA_ARCH_", "-DOPENCV_DNN_CUDA"))] + [
        "-DCUDA_ARCH_BIN=7.5", "-DCUDA_ARCH_PTX=8.6", f"-DBUILD_LIST={BUILD_LIST}",
    ]
    path.write_text(json.dumps(data, indent=2) + "\n")


def test_cuda_preset_builds_offline_with_opencv_cuda_ffmpeg_nvdec_and_torch_cuda_once(tmp_path: Path) -> None:
    """lock --check, sync, verify, offline build, smoke and the CPU-visible CUDA checks of the shipped CUDA 11.5 preset."""
    site = clone_project(tmp_path / "site")
    _write_lean_preset(site)
    ok(inv(site, "lock", "--check", "--preset", NAME), "inv lock --check (the committed locks)")
    # what a user does before a sync: pin the archive as it is today (the committed system lock drifts when Ubuntu updates)
    ok(inv(site, "lock", "--preset", NAME, "--only", "system"), "inv lock --only system")
    ok(inv(site, "sync", "--preset", NAME), "inv sync")
    store = site / "artifacts" / NAME
    manifest = json.loads((store / "manifest.json").read_text())
    debs = {e["path"] for e in manifest["entries"] if e["kind"] == "deb"}
    assert any(re.search(r"/nvidia-cuda-toolkit_11\.5\.", d) for d in debs if d.startswith("debs/builder/")), sorted(debs)
    assert not [d for d in debs if d.startswith("debs/runtime/") and re.search(r"cuda|cublas|cufft|npp|cudnn|libnvidia", d)], sorted(debs)
    ok(inv(site, "verify", "--preset", NAME), "inv verify")

    drop_preset_images(NAME)
    try:
        ok(inv(site, "build", "--preset", NAME, "--target", "runtime", timeout=5000), "inv build")
        tag = f"airlock/{NAME}:runtime"
        ok(inv(site, "smoke", "--preset", NAME), "inv smoke")

        missing = docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c", _LDD_ALL)
        unresolved = [line for line in missing.splitlines()
                      if "not found" in line and not any(h in line for h in HOST_DRIVER_LIBS) and not TORCHAUDIO_OPTIONAL.search(line)]
        assert not unresolved, "\n".join(unresolved[:40])
        assert int(missing.rsplit("files: ", 1)[1].split()[0]) > 100, missing[-500:]

        got = json.loads(docker_out("run", "--rm", "--network=none", "--entrypoint", "/opt/venv/bin/python", tag, "-c", _PY_CHECKS).strip().splitlines()[-1])
        assert got["cv2_file"].startswith("/opt/opencv/") and "/cv2/" in got["cv2_file"], got
        assert got["cv2_cuda"] and got["cv2_modules"] == ["cudaarithm", "cudaimgproc", "cudawarping"], got
        assert "75" in got["cv2_archs"] and "86" in got["cv2_ptx"], got
        assert got["torch_cuda"] == "11.7", got
        assert got["cudnn"] is not None and 8000 <= got["cudnn"] < 9000, got

        ffmpeg = docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c", "ffmpeg -hide_banner -decoders; ffmpeg -hide_banner -hwaccels")
        assert re.search(r"^\s*V\S*\s+h264_cuvid\b", ffmpeg, re.M), ffmpeg[-2000:]
        assert re.search(r"^cuda$", ffmpeg, re.M), ffmpeg[-2000:]
        ldd_avcodec = docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c",
                                 "ldd /opt/opencv/lib/libopencv_videoio.so.4.10.0")
        assert_links_opt_ffmpeg(ldd_avcodec)

        # CUDA once: no CUDA .deb, no libcuda of the image's own, each CUDA library once (inv report).
        pkgs = docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c", "dpkg-query -W -f '${Package}\\n'")
        assert not [p for p in pkgs.split() if re.search(r"cuda|cublas|cufft|npp|cudnn|nvidia", p)], pkgs
        report = inv(site, "report", "--preset", NAME, "--tag", tag, "--json")
        assert report.returncode == 0, report.stderr
        data = json.loads(report.stdout)
        assert data["cuda_twice"] == [], data["cuda_twice"]
        origins = {c["soname"]: c["origin"] for c in data["cuda"]}
        for soname, wheel in (("libcublas.so.11", "nvidia_cublas_cu11"), ("libcufft.so.10", "nvidia_cufft_cu11"),
                              ("libnppc.so.11", "nvidia_npp_cu11"), ("libcudnn.so.8", "nvidia_cudnn_cu11")):
            assert origins.get(soname, "").startswith(f"wheel {wheel}-"), (soname, origins)
        labels = docker_json("image", "inspect", "--format", "{{json .Config.Labels}}", tag)
        assert isinstance(labels, dict) and labels["io.airlock.cuda.min-driver"] == "515.43.04", labels
    finally:
        drop_preset_images(NAME)


def test_shipped_cuda_preset_is_the_one_tested() -> None:
    """The test's preset differs from the shipped one only in OpenCV's module list, architectures and dnn."""
    shipped = json.loads((REPO / "presets" / f"{NAME}.json").read_text())
    assert shipped["cuda"] == {"version": "11.5", "cudnn": "8", "runtime": "wheels"}
    assert shipped["opencv"]["cuda"] is True and shipped["opencv"]["python"] is True
    assert "-DCUDA_HOST_COMPILER=/usr/bin/g++-10" in shipped["opencv"]["cmake_flags"]
    assert {"--enable-nvdec", "--enable-cuvid", "--enable-nvenc", "--enable-ffnvcodec"} <= set(shipped["ffmpeg"]["configure_flags"])
