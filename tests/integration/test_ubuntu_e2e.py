"""The CUDA presets' Ubuntu 22.04 side, built for real: everything but CUDA, cuDNN, TensorRT and torch.

No registry serves nvidia/cuda here and no GPU is lent, but Ubuntu's archive answers. So
this test debootstraps Ubuntu 22.04 (jammy, archive keys pinned, jammy-updates for Python
3.11) and takes from the shipped CUDA 12.1 preset, unchanged: its Python, its apt build and
runtime sets, its FFmpeg archive and flags, its OpenCV and contrib archives and CMake flags.
Only CUDA is turned off (with its CUDA_ARCH_BIN), and a BUILD_LIST keeps the compile to
minutes: core, imgproc, imgcodecs (the codec -dev/runtime pairs), videoio (the FFmpeg built
before it), dnn (the system protobuf) and contrib's img_hash. The requirement set is the
demo's, so its wheels are reused.

What it proves: the preset's Ubuntu package names resolve; its flags configure and compile
Debian's 3rdparty-less OpenCV tree with Ubuntu's toolchain; every library the build links
against is provided at runtime by the preset's runtime set; the image passes the smoke check.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO, JAMMY, REPO, clone_project, inv
from tests.integration.conftest import assert_links_opt_ffmpeg, docker_out, drop_preset_images, offer_demo_wheels, ok, opencv_libraries

pytestmark = [pytest.mark.docker, pytest.mark.network]

GPU = "ubuntu22.04-cuda12.1-torch2.3"
NAME = "ubuntu22.04-cpu-py3.11-opencv4.10"
MODULES = ("core", "imgproc", "imgcodecs", "videoio", "dnn", "img_hash")
#: library (soname stem) -> the OpenCV module that must resolve it from the runtime set.
LINKED = {
    "imgcodecs": ("libjpeg.so.8", "libpng16.so.16", "libtiff.so.5", "libwebp.so.7", "libopenjp2.so.7", "libz.so.1"),
    "dnn": ("libprotobuf.so.23",),
}


def _write_preset(site: Path) -> dict:  # type: ignore[type-arg]
    gpu = json.loads((REPO / "presets" / f"{GPU}.json").read_text())
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    opencv = dict(gpu["opencv"], cuda=False, python=False)  # the demo's requirement set brings its own cv2 wheel
    opencv["cmake_flags"] = [f for f in gpu["opencv"]["cmake_flags"] if not f.startswith("-DCUDA_")]
    opencv["cmake_flags"].append(f"-DBUILD_LIST={','.join(MODULES)}")
    assert opencv["dnn"] is True and gpu["python"] == data["python"]
    data.update(
        name=NAME,
        description=f"test: {GPU} without CUDA, on a debootstrapped Ubuntu 22.04",
        os="ubuntu22.04",
        base={"builder": {"bootstrap": JAMMY}, "runtime": {"bootstrap": JAMMY}},
        ffmpeg=gpu["ffmpeg"],
        opencv=opencv,
        apt=gpu["apt"],
    )
    (site / "presets" / f"{NAME}.json").write_text(json.dumps(data, indent=2) + "\n")
    return data


def _full_module_set_configures(site: Path) -> None:
    """The preset's flags without BUILD_LIST (every OpenCV and contrib module, as the GPU preset builds) configure offline.

    Compiling all of them takes an hour on 2 cores; configuring is where a missing 3rdparty
    tree or dependency fails (it is how WITH_OPENEXR=OFF was found), and takes seconds.
    """
    builders = [r for r in docker_out("images", "--format", "{{.Repository}}:{{.Tag}}").split()
                if r.startswith(f"airlock/{NAME}:deps-") and r.endswith("-builder")]
    assert len(builders) == 1, builders
    config = site / ".airlock" / "build" / NAME / "deps" / "config" / "opencv"
    flags = [f for f in (config / "flags.txt").read_text().splitlines() if f and not f.startswith("-DBUILD_LIST=")]
    archive, contrib = ((config / n).read_text().strip().rsplit("/", 1)[-1] for n in ("archive.txt", "contrib-archive.txt"))
    script = (
        "set -eu; mkdir -p /src/opencv /src/opencv_contrib /src/build; "
        f"tar -xf /srcs/{archive} -C /src/opencv --strip-components=1; "
        f"tar -xf /srcs/{contrib} -C /src/opencv_contrib --strip-components=1; "
        'cmake -S /src/opencv -B /src/build -DCMAKE_BUILD_TYPE=Release -DOPENCV_EXTRA_MODULES_PATH=/src/opencv_contrib/modules "$@"'
    )
    proc = subprocess.run(
        ["docker", "run", "--rm", "--network=none", "-e", "PKG_CONFIG_PATH=/opt/ffmpeg/lib/pkgconfig",
         "-v", f"{site / 'artifacts' / NAME / 'sources'}:/srcs:ro", builders[0], "sh", "-c", script, "sh", *flags],
        capture_output=True, text=True, timeout=900,
    )
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "CMake Error" not in log and "-- Generating done" in log, log[-4000:]
    built = re.search(r"To be built:\s+(.*)", log)
    assert built is not None, log[-4000:]
    assert {"dnn", "videoio", "imgcodecs", "img_hash", "ximgproc", "tracking"} <= set(built.group(1).split()), built.group(1)


def test_cuda_preset_ubuntu_parts_build_offline_on_jammy(synced_demo: Path, tmp_path: Path) -> None:
    """lock, sync (jammy bootstrapped, debs from Ubuntu), verify, offline build, smoke: all of the GPU preset's Ubuntu parts hold."""
    site = clone_project(tmp_path / "site")
    _write_preset(site)
    ok(inv(site, "lock", "--preset", NAME), "inv lock")
    store = site / "artifacts" / NAME
    offer_demo_wheels(synced_demo, store)
    ok(inv(site, "sync", "--preset", NAME), "inv sync")
    manifest = json.loads((store / "manifest.json").read_text())
    debs = {e["path"].rsplit("/", 1)[-1] for e in manifest["entries"] if e["kind"] == "deb"}
    assert any(re.match(r"python3\.11_3\.11\.[^_]*~22\.04[^_]*_amd64\.deb$", d) for d in debs), sorted(debs)
    ok(inv(site, "verify", "--preset", NAME), "inv verify")

    drop_preset_images(NAME)
    try:
        ok(inv(site, "build", "--preset", NAME, "--target", "runtime"), "inv build")
        tag = f"airlock/{NAME}:runtime"
        osrel = docker_out("run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c", ". /etc/os-release; echo $ID $VERSION_ID; python3 --version")
        assert osrel.split()[:2] == ["ubuntu", "22.04"] and "Python 3.11." in osrel, osrel
        v = json.loads((site / "presets" / f"{NAME}.json").read_text())["opencv"]["version"]
        libs, ldd, out = opencv_libraries(tag, v)
        assert libs == {f"libopencv_{m}.so.{v}" for m in MODULES}, out
        assert "not found" not in out, out
        for module, sonames in LINKED.items():
            for soname in sonames:
                assert re.search(rf"{re.escape(soname)} => /(usr/)?lib/x86_64-linux-gnu/", ldd[module]), (module, soname, ldd[module])
        assert_links_opt_ffmpeg(ldd["videoio"])
        ok(inv(site, "smoke", "--preset", NAME), "inv smoke")
        _full_module_set_configures(site)
    finally:
        drop_preset_images(NAME)
