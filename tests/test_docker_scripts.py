"""The helper scripts in docker/, run with /bin/sh on the host for the paths that touch no archive."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO

DOCKER = REPO / "docker"

#: script -> (the part it names, its arguments after ARCHIVE, with PREFIX as {prefix} and FLAGS_FILE as {flags})
SCRIPTS = {
    "build-ffmpeg": ("FFmpeg", ["{prefix}", "{flags}"]),
    "build-opencv": ("OpenCV", ["{prefix}", "{flags}", "none"]),
    "install-tensorrt-tar": ("TensorRT", ["{prefix}"]),
}


def _run(script: str, archive: str, rest: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    flags = tmp_path / "flags.txt"
    flags.write_text("")
    args = [a.format(prefix=tmp_path / "prefix", flags=flags) for a in rest]
    return subprocess.run(["sh", str(DOCKER / script), archive, *args], capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_an_empty_archive_argument_fails_with_one_line_naming_the_part(script: str, tmp_path: Path) -> None:
    """An empty ARCHIVE (a config/<part>/archive.txt naming nothing) exits non-zero with one line naming the part."""
    part, rest = SCRIPTS[script]
    proc = _run(script, "", rest, tmp_path)
    assert proc.returncode != 0
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"{script}: {part}: empty archive argument"), lines[0]
    assert not (tmp_path / "prefix").exists()


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_none_means_the_preset_has_no_such_part(script: str, tmp_path: Path) -> None:
    """ARCHIVE "none" succeeds quietly and leaves an empty PREFIX (the runtime stage copies it)."""
    _, rest = SCRIPTS[script]
    proc = _run(script, "none", rest, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert (tmp_path / "prefix").is_dir() and not any((tmp_path / "prefix").iterdir())


def test_opencv_with_an_empty_contrib_argument_fails() -> None:
    """An OpenCV build whose contrib argument is empty fails naming opencv_contrib, before touching any archive."""
    proc = subprocess.run(
        ["sh", str(DOCKER / "build-opencv"), "/airlock/sources/opencv.tar.xz", "/nonexistent/prefix", "/dev/null", ""],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert proc.returncode != 0
    assert proc.stderr.splitlines() == [
        "build-opencv: opencv_contrib: empty archive argument (give the contrib archive's path, or none when the preset has no contrib)"
    ]


def test_a_tensorrt_tar_without_libnvinfer_fails_naming_the_archive(tmp_path: Path) -> None:
    """install-tensorrt-tar refuses an archive with no lib/libnvinfer.so.* (not NVIDIA's TensorRT layout) in one line."""
    tree = tmp_path / "tree" / "TensorRT-8.6.1.6" / "include"
    tree.mkdir(parents=True)
    (tree / "NvInfer.h").write_text("/* not a library */\n")
    archive = tmp_path / "not-tensorrt.tar.gz"
    subprocess.run(["tar", "-czf", str(archive), "-C", str(tmp_path / "tree"), "TensorRT-8.6.1.6"], check=True)
    proc = _run("install-tensorrt-tar", str(archive), ["{prefix}"], tmp_path)
    assert proc.returncode == 1
    assert proc.stderr.splitlines() == [
        f"install-tensorrt-tar: {archive}: no lib/libnvinfer.so.* inside (is it NVIDIA's TensorRT .tar release, TensorRT-<version>/lib/...?)"
    ]
