"""Wheel choice for the target, against a loopback simple index (JSON and HTML)."""

from __future__ import annotations

import http.server
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlock.errors import IntegrityError
from airlock.lockfile import Lockfile, Pin
from airlock.target import Target
from airlock.wheels import IndexFile, SdistChoice, cache_dir, choose, plan, plan_with_sdists, sdist_only, usable_on

T311 = Target("3.11", "x86_64", (2, 36))
H = {c: c * 64 for c in "abcdef"}

FILES = {
    "numpy": [
        ("numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", H["a"]),
        ("numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl", H["b"]),
        ("numpy-1.26.4-cp310-cp310-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", H["c"]),
        ("numpy-1.26.4.tar.gz", H["d"]),
    ],
    "onlysdist": [("onlysdist-1.0.tar.gz", H["e"])],
}


class _Index(http.server.BaseHTTPRequestHandler):
    html = False
    requested: list[str] = []  # project names asked for, in order

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        name = self.path.strip("/").split("/")[-1]
        _Index.requested.append(name)
        files = FILES.get(name)
        if files is None:
            self.send_response(404)
            self.end_headers()
            return
        if _Index.html:
            body = "".join(f'<a href="/files/{fn}#sha256={h}">{fn}</a>' for fn, h in files).encode()
            ctype = "text/html"
        else:
            body = json.dumps({"files": [{"filename": fn, "url": f"/files/{fn}", "hashes": {"sha256": h}} for fn, h in files]}).encode()
            ctype = "application/vnd.pypi.simple.v1+json"
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(params=[False, True], ids=["json", "html"])
def index(request: pytest.FixtureRequest) -> Iterator[str]:
    _Index.html = request.param
    _Index.requested = []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Index)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/simple"
    srv.shutdown()
    srv.server_close()


def _lock(index: str, *pins: Pin) -> Lockfile:
    return Lockfile("p", "uv", T311.label, "sha256:" + "0" * 64, index, (), pins)


def test_target_tags_decide_usability() -> None:
    """A cp311 manylinux wheel installs on the cp311 glibc 2.36 target; macOS, cp310 and too-new glibc do not."""
    assert usable_on("x-1-cp311-cp311-manylinux_2_17_x86_64.whl", T311)
    assert usable_on("x-1-py3-none-any.whl", T311)
    assert usable_on("x-1-cp37-abi3-manylinux2014_x86_64.whl", T311)
    assert not usable_on("x-1-cp311-cp311-macosx_11_0_arm64.whl", T311)
    assert not usable_on("x-1-cp310-cp310-manylinux_2_17_x86_64.whl", T311)
    assert not usable_on("x-1-cp311-cp311-manylinux_2_38_x86_64.whl", T311)
    assert not usable_on("x-1-cp311-cp311-manylinux_2_17_aarch64.whl", T311)


def test_choose_takes_the_locked_hash_for_the_target() -> None:
    """Only files whose hash is locked and whose tags fit are candidates."""
    files = [IndexFile(fn, f"https://x/{fn}", h) for fn, h in FILES["numpy"]]
    pin = Pin("numpy", "1.26.4", (H["a"], H["b"], H["c"], H["d"]))
    c = choose(pin, files, T311)
    assert c is not None and c.sha256 == H["a"]
    assert choose(Pin("numpy", "1.26.4", (H["b"],)), files, T311) is None


def test_plan_picks_wheels_from_the_index(index: str) -> None:
    """plan() asks the index and returns one wheel per pin, skipping pins already present."""
    lock = _lock(index, Pin("numpy", "1.26.4", (H["a"], H["b"], H["c"], H["d"])))
    choices, satisfied = plan(lock, T311, {})
    assert [c.filename for c in choices] == [FILES["numpy"][0][0]]
    assert choices[0].url.startswith("http://127.0.0.1:")
    choices, satisfied = plan(lock, T311, {FILES["numpy"][0][0]: H["a"]})
    assert choices == [] and satisfied == ["numpy"]


def test_sdist_only_pin_is_refused_where_only_wheels_may_be(index: str) -> None:
    """plan() (a set that must be all wheels: build dependencies) names an sdist-only pin and the target before any download."""
    lock = _lock(index, Pin("numpy", "1.26.4", (H["a"],)), Pin("onlysdist", "1.0", (H["e"],)))
    with pytest.raises(IntegrityError) as exc:
        plan(lock, T311, {})
    msg = str(exc.value)
    assert "onlysdist==1.0 (only an sdist)" in msg and T311.label in msg and "numpy" not in msg


def test_sdist_only_pin_is_handed_back_to_be_built(index: str) -> None:
    """plan_with_sdists(): a pin with no wheel for the target but its locked sdist comes back as an SdistChoice (to build), not an error."""
    lock = _lock(index, Pin("numpy", "1.26.4", (H["a"],)), Pin("onlysdist", "1.0", (H["e"],)))
    choices, satisfied, sdists = plan_with_sdists(lock, T311, {})
    assert [c.pin.name for c in choices] == ["numpy"] and satisfied == []
    assert sdists == [SdistChoice(lock.by_key()["onlysdist"], "onlysdist-1.0.tar.gz", sdists[0].url, H["e"], None)]
    assert sdists[0].url.endswith("/files/onlysdist-1.0.tar.gz")


def test_a_pin_with_neither_wheel_nor_locked_sdist_is_refused(index: str) -> None:
    """numpy locked only by its macOS wheel's hash: no wheel for the target and no locked sdist, so it is named (exit 1)."""
    lock = _lock(index, Pin("numpy", "1.26.4", (H["b"],)))
    with pytest.raises(IntegrityError) as exc:
        plan_with_sdists(lock, T311, {})
    assert "numpy==1.26.4 (no matching wheel, no locked sdist)" in str(exc.value)


def test_sdist_only_lists_a_pin_with_a_locked_wheel_once_and_an_sdist_only_pin_every_time(index: str, tmp_path: Path) -> None:
    """sdist_only(): the second run asks the index only for the sdist-only pin; the answer is the same both times."""
    pins = (Pin("numpy", "1.26.4", (H["a"], H["d"])), Pin("onlysdist", "1.0", (H["e"],)))
    first = sdist_only(pins, (index,), T311, cache=tmp_path)
    assert sorted(_Index.requested) == ["numpy", "onlysdist"]
    _Index.requested = []
    again = sdist_only(pins, (index,), T311, cache=tmp_path)
    assert _Index.requested == ["onlysdist"]
    assert [s.pin.name for s in first] == [s.pin.name for s in again] == ["onlysdist"]


def test_sdist_only_lists_again_when_the_locked_wheel_the_target_or_the_index_changes(index: str, tmp_path: Path) -> None:
    """The cache answers only for the same target, indexes, name, version and a locked hash of the wheel found: else the index is asked."""
    sdist_only((Pin("numpy", "1.26.4", (H["a"], H["d"])),), (index,), T311, cache=tmp_path)
    _Index.requested = []
    sdist_only((Pin("numpy", "1.26.4", (H["c"], H["d"])),), (index,), T311, cache=tmp_path)  # the cp311 wheel's hash dropped
    sdist_only((Pin("numpy", "1.26.4", (H["a"], H["d"])),), (index,), Target("3.11", "x86_64", (2, 17)), cache=tmp_path)
    sdist_only((Pin("numpy", "1.26.4", (H["a"], H["d"])),), (index.replace("127.0.0.1", "localhost"),), T311, cache=tmp_path)
    assert _Index.requested == ["numpy", "numpy", "numpy"]


def test_cache_dir_follows_airlock_cache_dir_then_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$AIRLOCK_CACHE_DIR wins; without it $XDG_CACHE_HOME/airlock; without both ~/.cache/airlock."""
    monkeypatch.setenv("AIRLOCK_CACHE_DIR", str(tmp_path / "a"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert cache_dir() == tmp_path / "a"
    monkeypatch.delenv("AIRLOCK_CACHE_DIR")
    assert cache_dir() == tmp_path / "x" / "airlock"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "h"))
    assert cache_dir() == tmp_path / "h" / ".cache" / "airlock"
