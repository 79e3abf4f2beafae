"""Atomic writes (render, then write with os.replace) and file hashing."""

from __future__ import annotations

import contextlib
import hashlib
import mmap
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

SMALL_FILE = 8 << 20  # read whole
HASH_SLICE = 64 << 20  # mmap slice per hashlib.update


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (temp file in the same dir + os.replace)."""
    with atomic_open(path) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


@contextlib.contextmanager
def atomic_open(path: Path) -> Iterator[IO[bytes]]:
    """Open a temp file beside ``path``; on success fsync + rename, else remove it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def sha256_file(path: Path) -> str:
    """sha256 hex digest of a file (OpenSSL-backed hashlib).

    Small files in one read; large ones through mmap in 64 MiB slices: no copy into
    Python buffers, and hashlib releases the GIL on each slice, so threads hash on all
    cores. Each hashed slice is dropped from the mapping (MADV_DONTNEED; the page cache
    keeps it), so hashing a 3 GB store does not show as 3 GB of resident memory.
    """
    h = hashlib.sha256()
    with open(path, "rb", buffering=0) as fh:
        size = os.fstat(fh.fileno()).st_size
        if size <= SMALL_FILE:
            h.update(fh.read())
            return h.hexdigest()
        with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as m:
            view = memoryview(m)
            try:
                for i in range(0, size, HASH_SLICE):
                    h.update(view[i : i + HASH_SLICE])
                    m.madvise(mmap.MADV_DONTNEED, i, min(HASH_SLICE, size - i))
            finally:
                view.release()
    return h.hexdigest()


#: No input file airlock reads as text (preset, requirements, lock, index) is honestly larger.
MAX_INPUT_TEXT = 64 << 20


def read_input_text(path: Path, *, missing: str | None = None) -> str:
    """A user's (or a store's) text file, with every way it can be wrong as one InputError naming it.

    A directory, a file past :data:`MAX_INPUT_TEXT`, an unreadable file, bytes that are not
    UTF-8. ``missing`` is the message for a file that does not exist (FileNotFoundError is
    raised as it is when it is None, for callers that treat absence themselves).
    """
    from airlock.errors import InputError

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_INPUT_TEXT + 1)
    except FileNotFoundError:
        if missing is None:
            raise
        raise InputError(f"{path}: {missing}") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror or exc})") from None
    if len(data) > MAX_INPUT_TEXT:
        raise InputError(f"{path}: larger than {MAX_INPUT_TEXT >> 20} MiB; not a file airlock reads")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start})") from None


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
