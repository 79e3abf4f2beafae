"""One writer at a time: ``flock`` on ``artifacts/.<preset>.lock``.

``inv sync`` holds the store exclusively for its whole run; ``inv verify`` and ``inv build``
hold it shared, so they never report on (or build from) a store a sync is changing, and a
sync never starts under them. Nobody waits: a store that is busy is one line and exit 4
(:class:`airlock.errors.BusyError`). The kernel drops the lock when its process ends, even
by ``kill -9``, so a killed sync never leaves the store locked; the next sync resumes from
its ``*.part`` files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from airlock.errors import BusyError, ExternalError, InputError
from airlock.store.layout import lock_file


@contextlib.contextmanager
def hold(store: Path, *, exclusive: bool, doing: str) -> Iterator[None]:
    """Hold ``store``'s lock (exclusive for a writer, shared for a reader) or raise BusyError.

    A reader of a store that does not exist yet takes no lock (there is nothing to read, and
    it must not create the folder); the caller reports the missing store.
    """
    if store.is_symlink():
        # The store's confinement rests on its folder being itself: a symlinked artifacts/ is fine, a symlinked store is not.
        raise InputError(f"{store}: is a symlink; airlock reads and writes only inside a real store folder (make it one; artifacts/ itself may be a symlink)")
    if not exclusive and not store.is_dir():
        yield
        return
    if exclusive:
        store.mkdir(parents=True, exist_ok=True)
    path = lock_file(store)
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise ExternalError(f"{path}: cannot open the store's lock ({exc.strerror or exc})") from None
    try:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            held = "another airlock process (sync, verify or build) is using it" if exclusive else "an inv sync is writing it"
            raise BusyError(f"{store}: busy, {held}; {doing} again when it has finished") from None
        yield
    finally:
        os.close(fd)
