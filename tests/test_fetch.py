"""Downloads over a loopback HTTP server: resume, no Range, garbage parts, bad hash, disk full.

In every case the final name never holds unverified bytes, and errors name the file.
"""

from __future__ import annotations

import errno
import hashlib
import http.server
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from airlock import fetch
from airlock.errors import ExternalError, HashMismatch

PAYLOAD = os.urandom(3 * 1024 * 1024 + 123)
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class _State:
    ranges = True  # honour Range requests
    cut_after: int | None = None  # close the connection after this many body bytes (once)
    requests: list[str | None] = []


class _Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:  # noqa: N802
        rng = self.headers.get("Range")
        _State.requests.append(rng)
        start = 0
        if rng and _State.ranges:
            start = int(rng.removeprefix("bytes=").split("-")[0])
            if start >= len(PAYLOAD):
                self.send_response(416)
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(PAYLOAD) - 1}/{len(PAYLOAD)}")
        else:
            self.send_response(200)
        body = PAYLOAD[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if _State.cut_after is not None:
            n, _State.cut_after = _State.cut_after, None
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


@pytest.fixture
def server() -> Iterator[str]:
    _State.ranges, _State.cut_after, _State.requests = True, None, []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/ffmpeg.tar.xz"
    srv.shutdown()
    srv.server_close()


def test_plain_download_lands_after_hash_check(server: str, tmp_path: Path) -> None:
    """A clean download is renamed into place with the right bytes and no .part left."""
    dest = tmp_path / "ffmpeg.tar.xz"
    res = fetch.download(server, dest, SHA)
    assert dest.read_bytes() == PAYLOAD and res.bytes_downloaded == len(PAYLOAD) and not res.reused
    assert not (tmp_path / "ffmpeg.tar.xz.part").exists()


def test_existing_good_file_is_reused_without_a_request(server: str, tmp_path: Path) -> None:
    """A present file with the right hash costs 0 bytes and no request."""
    dest = tmp_path / "ffmpeg.tar.xz"
    dest.write_bytes(PAYLOAD)
    res = fetch.download(server, dest, SHA)
    assert res.reused and res.bytes_downloaded == 0 and _State.requests == []


def test_cut_transfer_leaves_only_a_part_then_resumes_with_range(server: str, tmp_path: Path) -> None:
    """A transfer cut short fails naming the URL, keeps the bytes in .part only, and the next call fetches just the rest."""
    dest = tmp_path / "ffmpeg.tar.xz"
    _State.cut_after = 1_000_000
    with pytest.raises(ExternalError, match="cut short"):
        fetch.download(server, dest, SHA)
    assert not dest.exists()
    part = tmp_path / "ffmpeg.tar.xz.part"
    assert part.stat().st_size == 1_000_000
    res = fetch.download(server, dest, SHA)
    assert _State.requests[-1] == "bytes=1000000-"
    assert res.bytes_downloaded == len(PAYLOAD) - 1_000_000
    assert dest.read_bytes() == PAYLOAD and not part.exists()


def test_progress_callback_counts_exactly_the_bytes_fetched_on_resume(server: str, tmp_path: Path) -> None:
    """The progress feed sees each chunk read, so after a resume it adds up to the rest only."""
    dest = tmp_path / "ffmpeg.tar.xz"
    (tmp_path / "ffmpeg.tar.xz.part").write_bytes(PAYLOAD[:700_000])
    seen: list[int] = []
    res = fetch.download(server, dest, SHA, progress=seen.append)
    assert sum(seen) == res.bytes_downloaded == len(PAYLOAD) - 700_000
    assert len(seen) >= 2  # chunked, not one call at the end


def test_server_without_range_support_starts_over(server: str, tmp_path: Path) -> None:
    """When the server answers a Range request with 200, the part is rewritten from zero."""
    _State.ranges = False
    dest = tmp_path / "ffmpeg.tar.xz"
    (tmp_path / "ffmpeg.tar.xz.part").write_bytes(PAYLOAD[:500_000])
    res = fetch.download(server, dest, SHA)
    assert dest.read_bytes() == PAYLOAD
    assert res.bytes_downloaded == len(PAYLOAD)


def test_garbage_part_from_an_earlier_run_is_discarded(server: str, tmp_path: Path) -> None:
    """A .part holding wrong bytes fails the hash, is deleted, and the file is fetched again from zero."""
    dest = tmp_path / "ffmpeg.tar.xz"
    (tmp_path / "ffmpeg.tar.xz.part").write_bytes(b"\0" * 700_000)
    res = fetch.download(server, dest, SHA)
    assert dest.read_bytes() == PAYLOAD
    assert _State.requests == ["bytes=700000-", None]
    assert res.bytes_downloaded == (len(PAYLOAD) - 700_000) + len(PAYLOAD)


def test_wrong_hash_names_file_expected_and_actual(server: str, tmp_path: Path) -> None:
    """A hash that never matches raises HashMismatch naming the file, expected and actual; nothing is left."""
    dest = tmp_path / "ffmpeg.tar.xz"
    wrong = "0" * 64
    with pytest.raises(HashMismatch) as exc:
        fetch.download(server, dest, wrong)
    msg = str(exc.value)
    assert "ffmpeg.tar.xz" in msg and wrong in msg and SHA in msg
    assert exc.value.exit_code == 1
    assert not dest.exists() and not (tmp_path / "ffmpeg.tar.xz.part").exists()


def test_wrong_hash_of_a_local_file_does_not_print_its_digest(tmp_path: Path) -> None:
    """A file:// source with the wrong sha256 fails naming the file and the pin, never the local file's real digest."""
    secret = tmp_path / "private.key"
    secret.write_bytes(b"not for the log")
    real = hashlib.sha256(b"not for the log").hexdigest()
    wrong = "0" * 64
    with pytest.raises(HashMismatch) as exc:
        fetch.download(secret.as_uri(), tmp_path / "out" / "private.key", wrong)
    msg = str(exc.value)
    assert "private.key" in msg and wrong in msg and real not in msg and "sha256sum" in msg
    assert not (tmp_path / "out" / "private.key").exists() and not (tmp_path / "out" / "private.key.part").exists()


def test_disk_full_names_the_file_and_never_writes_the_final_name(server: str, tmp_path: Path) -> None:
    """ENOSPC while writing is an error naming the .part; the final name does not appear."""
    opened: list[tuple[Path, str]] = []

    class _Full:
        """The real part file, whose writes fail with ENOSPC past 2 MB."""

        def __init__(self, fh: BinaryIO) -> None:
            self.fh, self.n = fh, 0

        def write(self, data: bytes) -> int:
            self.n += len(data)
            if self.n > 2_000_000:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.fh.write(data)

        def __enter__(self) -> _Full:
            return self

        def __exit__(self, *a: object) -> None:
            self.fh.close()

    def full_disk(part: Path, mode: str) -> BinaryIO:
        opened.append((part, mode))
        return _Full(fetch.open_part(part, mode))  # type: ignore[return-value]

    dest = tmp_path / "ffmpeg.tar.xz"
    with pytest.raises(ExternalError, match=r"ffmpeg\.tar\.xz\.part: no space left"):
        fetch.download(server, dest, SHA, opener=full_disk)
    assert opened == [(tmp_path / "ffmpeg.tar.xz.part", "wb")]
    assert not dest.exists()


def test_unreachable_url_names_the_url(tmp_path: Path) -> None:
    """A refused connection is one ExternalError naming the URL."""
    with pytest.raises(ExternalError, match="127.0.0.1:9/x"):
        fetch.download("http://127.0.0.1:9/x", tmp_path / "x", SHA, timeout=5)


def test_file_url_is_supported(tmp_path: Path) -> None:
    """A file:// mirror works like HTTP, hash-checked."""
    src = tmp_path / "mirror.bin"
    src.write_bytes(PAYLOAD)
    dest = tmp_path / "out" / "mirror.bin"
    fetch.download(src.as_uri(), dest, SHA)
    assert dest.read_bytes() == PAYLOAD
