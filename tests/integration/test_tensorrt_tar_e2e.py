"""TensorRT from a .tar the user downloaded (NVIDIA's archives sit behind a login): checked, unpacked, linked.

No TensorRT release can be fetched here, so the test makes an archive with the layout of
NVIDIA's ``TensorRT-<version>.Linux.x86_64-gnu.cuda-11.8.tar.gz``: ``lib/libnvinfer.so.8.6.1``
(a real shared object, soname ``libnvinfer.so.8``, compiled in the demo's builder, whose one
function answers 8601 as ``getInferLibVersion`` does), ``include/NvInfer.h`` and
``python/tensorrt-8.6.1-cp311-none-linux_x86_64.whl`` (a real wheel whose module loads
``libnvinfer.so.8`` by soname). The preset is a small CUDA one on a bootstrapped Ubuntu 22.04
with CUDA from wheels (the runtime wheel alone), so only the plumbing is under test:
``tensorrt.url`` as ``file://`` with its sha256 (a wrong one is refused without printing
the file's own digest), the archive in the store and checked by verify, unpacked into
/opt/tensorrt, ``libnvinfer.so.8`` in the loader's cache, ``import tensorrt`` in the venv.
What is not verified here: NVIDIA's real archive, its libraries on a GPU.
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.conftest import DEMO, JAMMY, REPO, clone_project, inv
from tests.integration.conftest import docker_out, drop_preset_images, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]

NAME = "ubuntu22.04-cuda11.5-trt8.6-test"
STUB_C = "int getInferLibVersion(void) { return 8601; }\n"
MODULE = '''import ctypes

__version__ = "8.6.1"
_lib = ctypes.CDLL("libnvinfer.so.8")


def lib_version() -> int:
    return _lib.getInferLibVersion()
'''


def _wheel(path: Path) -> None:
    files = {
        "tensorrt/__init__.py": MODULE.encode(),
        "tensorrt-8.6.1.dist-info/METADATA": b"Metadata-Version: 2.1\nName: tensorrt\nVersion: 8.6.1\n",
        "tensorrt-8.6.1.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: airlock-test\nRoot-Is-Purelib: false\nTag: cp311-none-linux_x86_64\n",
    }
    record = "".join(
        f"{name},sha256={base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()},{len(data)}\n"
        for name, data in files.items()
    ) + "tensorrt-8.6.1.dist-info/RECORD,,\n"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in {**files, "tensorrt-8.6.1.dist-info/RECORD": record.encode()}.items():
            zf.writestr(name, data)


def _tensorrt_tar(tmp: Path) -> tuple[Path, str]:
    """NVIDIA's TensorRT tar layout with a real libnvinfer.so.8 and tensorrt wheel; returns (archive, sha256)."""
    root = tmp / "tree" / "TensorRT-8.6.1.6"
    for sub in ("lib", "include", "python"):
        (root / sub).mkdir(parents=True)
    (root / "include" / "NvInfer.h").write_text("/* stand-in header */\n")
    (tmp / "stub.c").write_text(STUB_C)
    builders = [r for r in docker_out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
                if r.startswith(f"airlock/{DEMO}:deps-") and r.endswith("-builder")]
    assert builders, "the demo's deps builder image (built_demo) has a C compiler"
    subprocess.run(
        ["docker", "run", "--rm", "--network=none", "-v", f"{tmp}:/w", builders[0], "sh", "-c",
         "cc -shared -fPIC -Wl,-soname,libnvinfer.so.8 -o /w/tree/TensorRT-8.6.1.6/lib/libnvinfer.so.8.6.1 /w/stub.c "
         "&& chmod -R a+rX /w/tree"],
        check=True, capture_output=True, text=True,
    )
    _wheel(root / "python" / "tensorrt-8.6.1-cp311-none-linux_x86_64.whl")
    archive = tmp / "TensorRT-8.6.1.6.Linux.x86_64-gnu.cuda-11.8.tar.gz"
    with tarfile.open(archive, "w:gz") as tf:
        tf.add(root, arcname=root.name)
    return archive, hashlib.sha256(archive.read_bytes()).hexdigest()


def _write_preset(site: Path, url: str, sha256: str) -> None:
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data.update(
        name=NAME,
        description="test: a TensorRT .tar from a local file, on a small CUDA preset (CUDA from wheels)",
        os="ubuntu22.04",
        base={"builder": {"bootstrap": JAMMY}, "runtime": {"bootstrap": JAMMY}},
        cuda={"version": "11.5", "cudnn": "8", "runtime": "wheels"},
        tensorrt={"version": "8.6.1.6", "source": "tar", "url": url, "sha256": sha256},
        ffmpeg=None,
        opencv=None,
        apt={"build": [], "runtime": []},
        requirements={"packages": ["numpy<2", "nvidia-cuda-runtime-cu11==11.7.99"], "file": None},
    )
    (site / "presets" / f"{NAME}.json").write_text(json.dumps(data, indent=2) + "\n")


def test_a_tensorrt_tar_from_a_local_file_is_checked_unpacked_and_linked(built_demo: str, tmp_path: Path) -> None:
    """file:// tar with its sha256: sync and verify check it, the build unpacks it, libnvinfer is linked, tensorrt imports."""
    archive, sha = _tensorrt_tar(tmp_path)
    site = clone_project(tmp_path / "site")

    # A wrong sha256 is refused naming the file and the pin, never printing the local file's own digest.
    _write_preset(site, archive.as_uri(), "0" * 64)
    ok(inv(site, "lock", "--preset", NAME), "inv lock")
    proc = inv(site, "sync", "--preset", NAME, "--only", "sources")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert archive.name in proc.stderr and "0" * 64 in proc.stderr and sha not in proc.stderr + proc.stdout, proc.stderr

    _write_preset(site, archive.as_uri(), sha)
    ok(inv(site, "sync", "--preset", NAME), "inv sync")
    store = site / "artifacts" / NAME
    assert hashlib.sha256((store / "sources" / archive.name).read_bytes()).hexdigest() == sha
    ok(inv(site, "verify", "--preset", NAME), "inv verify")

    drop_preset_images(NAME)
    try:
        ok(inv(site, "build", "--preset", NAME, "--target", "runtime"), "inv build")
        tag = f"airlock/{NAME}:runtime"
        linked = docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c", "ldconfig -p | grep libnvinfer")
        assert "libnvinfer.so.8 (libc6,x86-64) => /opt/tensorrt/lib/libnvinfer.so.8" in linked, linked
        got = docker_out("run", "--rm", "--network=none", "--entrypoint", "/opt/venv/bin/python", tag, "-c",
                         "import tensorrt; print(tensorrt.__version__, tensorrt.lib_version(), tensorrt.__file__)").split()
        assert got[:2] == ["8.6.1", "8601"] and got[2].startswith("/opt/venv/lib/python3.11/site-packages/tensorrt/"), got
        labels = json.loads(docker_out("image", "inspect", "--format", "{{json .Config.Labels}}", tag))
        assert labels["io.airlock.tensorrt"] == "8.6.1.6", labels
        assert docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c", "ls /opt/tensorrt/python") == ""
        ok(inv(site, "smoke", "--preset", NAME), "inv smoke")
    finally:
        drop_preset_images(NAME)
