"""OpenCV and opencv_contrib from pinned source archives, configured and compiled with no network.

The demo preset (its small FFmpeg 5.1 included) plus OpenCV 4.10 (4.6 does not compile
against FFmpeg 5.1's headers): core, imgproc,
imgcodecs, videoio and contrib's img_hash, small enough for CI; img_hash proves contrib
was built, videoio that OpenCV links the FFmpeg built before it, not a system one. The
archives are Debian's, as in the CUDA presets, so this also proves the flags and -dev
packages those presets rely on for Debian's 3rdparty-less tree.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, clone_project, inv
from tests.integration.conftest import assert_links_opt_ffmpeg, docker_json, drop_preset_images, offer_demo_wheels, ok, opencv_libraries

pytestmark = [pytest.mark.docker, pytest.mark.network]

VERSION = "4.10.0"
NAME = "debian12-cpu-py3.11-opencv4.10"
POOL = "http://deb.debian.org/debian/pool/main/o/opencv"
OPENCV = {
    "version": VERSION,
    "url": f"{POOL}/opencv_{VERSION}+dfsg.orig.tar.xz",
    "sha256": "4ca619efbad524c550771ab110332fc81293fb720bd03980fe58bc15f9ca3be8",
    "cuda": False,
    "dnn": False,
    "python": False,  # the demo's requirement set brings its own cv2 wheel (opencv-python-headless)
    "contrib": {
        "url": f"{POOL}/opencv_{VERSION}+dfsg.orig-contrib.tar.xz",
        "sha256": "bc499ce3a1421b2474c20cce9949a574311bb3b6a71a5527e00e6f71cdb646b9",
    },
    "cmake_flags": [
        "-DBUILD_LIST=core,imgproc,imgcodecs,videoio,img_hash",
        "-DBUILD_TESTS=OFF",
        "-DBUILD_PERF_TESTS=OFF",
        "-DBUILD_EXAMPLES=OFF",
        "-DBUILD_opencv_apps=OFF",
        # Debian's tree has no 3rdparty/: nothing may be built from it
        *(f"-DWITH_{w}=OFF" for w in ("JPEG", "PNG", "TIFF", "WEBP", "OPENJPEG", "JASPER", "OPENEXR", "PROTOBUF", "FLATBUFFERS", "QUIRC", "ITT", "OPENCL", "CAROTENE")),
    ],
}


def _write_preset(site: Path) -> None:
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data.update(name=NAME, description="test: OpenCV + contrib from Debian's source archives", opencv=OPENCV)
    data["apt"]["build"] += ["g++", "cmake", "zlib1g-dev"]
    data["apt"]["runtime"] += ["zlib1g"]
    (site / "presets" / f"{NAME}.json").write_text(json.dumps(data, indent=2) + "\n")


def test_opencv_with_contrib_builds_offline_into_the_runtime(synced_demo: Path, tmp_path: Path) -> None:
    """lock, sync, verify, build --network=none: the runtime has OpenCV's and contrib's libraries, all resolved, videoio on /opt/ffmpeg."""
    site = clone_project(tmp_path / "site")
    _write_preset(site)
    ok(inv(site, "lock", "--preset", NAME), "inv lock")
    offer_demo_wheels(synced_demo, site / "artifacts" / NAME)
    ok(inv(site, "sync", "--preset", NAME), "inv sync")
    sources = sorted(p.name for p in (site / "artifacts" / NAME / "sources").iterdir())
    ffmpeg = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())["ffmpeg"]["url"].rsplit("/", 1)[-1]
    assert sources == sorted([ffmpeg, f"opencv_{VERSION}+dfsg.orig-contrib.tar.xz", f"opencv_{VERSION}+dfsg.orig.tar.xz"])
    ok(inv(site, "verify", "--preset", NAME), "inv verify")

    drop_preset_images(NAME)
    try:
        build = ok(inv(site, "build", "--preset", NAME, "--target", "runtime"), "inv build")
        assert "deps build" in build.stdout, build.stdout
        tag = f"airlock/{NAME}:runtime"
        labels = docker_json("image", "inspect", "--format", "{{json .Config.Labels}}", tag)
        assert isinstance(labels, dict) and labels["io.airlock.opencv"] == VERSION
        libs, ldd, out = opencv_libraries(tag, VERSION)
        assert libs == {f"libopencv_{m}.so.{VERSION}" for m in ("core", "imgproc", "imgcodecs", "videoio", "img_hash")}, out
        assert "not found" not in out, out
        assert_links_opt_ffmpeg(ldd["videoio"])
    finally:
        drop_preset_images(NAME)
