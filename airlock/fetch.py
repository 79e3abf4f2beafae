"""Downloads that never leave unverified bytes under the final name.

``download(url, dest, sha256)``: an existing ``dest`` with the right hash is reused (0
bytes). Otherwise bytes go to ``dest.part``; an existing part is resumed with an HTTP
Range request where the server honours it (206) and started over where it does not
(200); the part is renamed to ``dest`` only after its sha256 matches. A mismatch
(say, garbage left in a part by an earlier run) deletes the part and starts once more
from zero; a second mismatch raises HashMismatch naming expected and actual.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from airlock.errors import ExternalError, HashMismatch
from airlock.fsutil import sha256_file
from airlock.store import layout

CHUNK = 1 << 20
TIMEOUT = 120

#: Opens the ``.part`` file for writing (``"wb"``) or appending (``"ab"``).
PartOpener = Callable[[Path, str], BinaryIO]


def open_part(part: Path, mode: str) -> BinaryIO:
    """The real :data:`PartOpener`: the file on disk."""
    return open(part, mode)  # the caller closes it (with ... as fh)


@dataclass(frozen=True)
class FetchResult:
    path: Path
    bytes_downloaded: int
    reused: bool


def download(
    url: str,
    dest: Path,
    sha256: str,
    *,
    progress: Callable[[int], None] | None = None,
    timeout: float = TIMEOUT,
    opener: PartOpener = open_part,
) -> FetchResult:
    """Fetch ``url`` to ``dest`` through ``dest.part`` (see the module docstring); ``opener`` opens
    the part for writing (a test passes one whose writes fail, say with ENOSPC)."""
    dest = Path(dest)
    if dest.exists() and sha256_file(dest) == sha256:
        return FetchResult(dest, 0, True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = layout.part_of(dest)
    total = 0
    for attempt in (1, 2):
        total += _fetch_to(url, part, progress, timeout, opener)
        actual = sha256_file(part)
        if actual == sha256:
            os.replace(part, dest)
            return FetchResult(dest, total, False)
        part.unlink(missing_ok=True)
        if attempt == 2:
            raise HashMismatch(f"{dest.name} ({url})", sha256, actual, reveal=not url.startswith("file://"))
    raise AssertionError("unreachable")


def _fetch_to(url: str, part: Path, progress: Callable[[int], None] | None, timeout: float, opener: PartOpener) -> int:
    """Append the rest of ``url`` to ``part`` (resume) or rewrite it; return bytes read."""
    if url.startswith("file://"):
        src = Path(urllib.request.url2pathname(url[len("file://"):]))
        try:
            shutil.copyfile(src, part)
        except FileNotFoundError:
            raise ExternalError(f"{url}: no such file") from None
        except OSError as exc:
            raise ExternalError(f"{part}: cannot write ({exc.strerror})") from None
        return part.stat().st_size
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "airlock"}
    if have:
        headers["Range"] = f"bytes={have}-"
    req = urllib.request.Request(url, headers=headers)
    try:
        resp = urllib.request.urlopen(req, timeout=timeout)
    except urllib.error.HTTPError as exc:
        exc.close()  # it holds the response's socket
        if exc.code == 416 and have:  # the part is already complete (or longer)
            return 0
        raise ExternalError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ExternalError(f"{url}: network error ({getattr(exc, 'reason', exc)})") from None
    read = 0
    with resp:
        mode = "ab" if have and resp.status == 206 else "wb"
        try:
            with opener(part, mode) as fh:
                while True:
                    try:
                        chunk = resp.read(CHUNK)
                    except (OSError, ValueError) as exc:
                        raise ExternalError(f"{url}: transfer cut short after {read} bytes ({exc}); run again to resume") from None
                    if not chunk:
                        break
                    fh.write(chunk)
                    read += len(chunk)
                    if progress:
                        progress(len(chunk))
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise ExternalError(f"{part}: no space left on device while downloading {url}") from None
            raise ExternalError(f"{part}: cannot write ({exc.strerror or exc})") from None
    length = resp.headers.get("Content-Length")
    if length is not None and read < int(length):
        raise ExternalError(f"{url}: transfer cut short ({read} of {length} bytes); run again to resume")
    return read


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


