"""Pure parts of sync: what counts as unwanted, the docker-save id reader, the summary."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from airlock.store import layout
from airlock.images import image_id_from_tar
from airlock.sync import PhaseResult, _unlisted, render_summary


def test_unlisted_files_are_removed_but_parts_are_kept_for_resume(tmp_path: Path) -> None:
    """Files the manifest does not vouch for are unwanted, except *.part (an interrupted download)."""
    (tmp_path / "wheels").mkdir()
    for name in ("a.whl", "b.whl", "c.whl.part"):
        (tmp_path / "wheels" / name).write_bytes(b"x")
    listing = layout.walk(tmp_path)
    assert _unlisted(listing, "wheels", {"wheels/a.whl": "0" * 64}) == ["wheels/b.whl"]
    assert _unlisted(listing, "sources", {}) == []


def test_image_id_is_read_from_a_docker_save_tarball(tmp_path: Path) -> None:
    """The id a saved image will have once loaded comes from its manifest.json, without loading it."""
    digest = "ab" * 32
    tar = tmp_path / "img.tar"
    with tarfile.open(tar, "w") as tf:
        data = json.dumps([{"Config": f"{digest}.json", "RepoTags": ["x:y"], "Layers": []}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    assert image_id_from_tar(tar) == f"sha256:{digest}"
    (tmp_path / "bad.tar").write_bytes(b"not a tar")
    assert image_id_from_tar(tmp_path / "bad.tar") is None


def test_summary_has_a_total_row_with_rate() -> None:
    """The closing table lists each phase and a total with files, bytes, reused, downloaded, rate, time."""
    text = render_summary({"wheels": PhaseResult(3, 3_000_000, 1, 2_000_000, 2.0), "sources": PhaseResult(1, 10, 1, 0, 0.0)}, 2.5)
    lines = text.splitlines()
    assert lines[0].split() == ["PHASE", "FILES", "BYTES", "REUSED", "DOWNLOADED", "RATE", "TIME"]
    assert lines[-1].split()[:2] == ["total", "4"] and "0.8 MB/s" in lines[-1]
    assert "1.0 MB/s" in lines[1]
