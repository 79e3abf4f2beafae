"""OpenCV and opencv_contrib from pinned source archives, configured and compiled with no network.

A CPU preset like the demo, with FFmpeg swapped for OpenCV 4.6.0 (core, imgproc and
contrib's img_hash: small enough for CI, and img_hash proves contrib was built). The
archives are Debian's, as in the CUDA presets, so this also proves the flags and -dev
packages those presets rely on for Debian's 3rdparty-less tree.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, clone_project, inv
from tests.integration.conftest import docker_json, docker_out, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]

NAME = "debian12-cpu-py3.11-opencv4.6"
POOL = "http://deb.debian.org/debian/pool/main/o/opencv"
OPENCV = {
    "version": "4.6.0",
    "url": f"{POOL}/opencv_4.6.0+dfsg.orig.tar.xz",
    "sha256": "40a59ba7e5c18a43652de0a08733c9843a39bba619b1f3e26a5fac4a6f041423",
    "cuda": False,
    "dnn": False,
    "contrib": {
        "url": f"{POOL}/opencv_4.6.0+dfsg.orig-contrib.tar.xz",
        "sha256": "3bba7c17e4a4a8b995c60904453dfc39315b3bea50e14008fd851afe7a1ff798",
    },
    "cmake_flags": [
        "-DBUILD_LIST=core,imgproc,img_hash",
        "-DBUILD_TESTS=OFF",
        "-DBUILD_PERF_TESTS=OFF",
        "-DBUILD_EXAMPLES=OFF",
        "-DBUILD_opencv_apps=OFF",
        # Debian's tree has no 3rdparty/: nothing may be built from it
        *(f"-DWITH_{w}=OFF" for w in ("JPEG", "PNG", "TIFF", "WEBP", "OPENJPEG", "JASPER", "OPENEXR", "PROTOBUF", "QUIRC", "ITT", "OPENCL")),
    ],
}


def _write_preset(site: Path) -> None:
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data.update(name=NAME, description="test: OpenCV + contrib from Debian's source archives", ffmpeg=None, opencv=OPENCV)
    data["apt"] = {
        "build": ["g++", "gcc", "libc6-dev", "make", "cmake", "pkgconf", "xz-utils", "zlib1g-dev"],
        "runtime": ["ca-certificates", "zlib1g"],
    }
    (site / "presets" / f"{NAME}.json").write_text(json.dumps(data, indent=2) + "\n")


def _drop_images() -> None:
    refs = [r for r in docker_out("images", "--format", "{{.Repository}}:{{.Tag}}").split() if r.startswith(f"airlock/{NAME}:")]
    if refs:
        subprocess.run(["docker", "image", "rm", "-f", *refs], check=True, capture_output=True)


def test_opencv_with_contrib_builds_offline_into_the_runtime(synced_demo: Path, tmp_path: Path) -> None:
    """lock, sync (sources hash-checked), verify, build --network=none: the runtime has OpenCV's and contrib's libraries, all resolvable."""
    site = clone_project(tmp_path / "site")
    _write_preset(site)
    ok(inv(site, "lock", "--preset", NAME), "inv lock")
    # Same requirement set as the demo: offer its wheels (hard links); sync checks each against the lock.
    (site / "artifacts" / NAME / "wheels").mkdir(parents=True)
    for whl in (synced_demo / "wheels").iterdir():
        os.link(whl, site / "artifacts" / NAME / "wheels" / whl.name)
    ok(inv(site, "sync", "--preset", NAME), "inv sync")
    sources = sorted(p.name for p in (site / "artifacts" / NAME / "sources").iterdir())
    assert sources == ["opencv_4.6.0+dfsg.orig-contrib.tar.xz", "opencv_4.6.0+dfsg.orig.tar.xz"]
    ok(inv(site, "verify", "--preset", NAME), "inv verify")

    _drop_images()
    try:
        build = ok(inv(site, "build", "--preset", NAME, "--target", "runtime"), "inv build")
        assert "deps build" in build.stdout, build.stdout
        tag = f"airlock/{NAME}:runtime"
        labels = docker_json("image", "inspect", "--format", "{{json .Config.Labels}}", tag)
        assert isinstance(labels, dict) and labels["io.airlock.opencv"] == "4.6.0"
        out = docker_out(
            "run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c",
            "cd /opt/opencv/lib && ls && for f in libopencv_*.so.4.6.0; do echo \"== $f\"; ldd \"$f\"; done",
        )
        libs = {line for line in out.splitlines() if line.startswith("libopencv_") and line.endswith(".so.4.6.0")}
        assert libs == {"libopencv_core.so.4.6.0", "libopencv_imgproc.so.4.6.0", "libopencv_img_hash.so.4.6.0"}, out
        assert "not found" not in out, out
    finally:
        _drop_images()
