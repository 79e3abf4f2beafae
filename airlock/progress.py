"""Progress of one sync phase's downloads: bytes, rate and files.

On a terminal it is a live rich bar (files done/total, bytes, rate, time left); in a
log (CI, a pipe) it is one line per finished file with the phase's running totals, so
a long transfer still shows it is moving and how fast. Both are fed the same way:
:meth:`Transfer.advance` with each chunk's size (from download threads) and
:meth:`Transfer.done` once a file is in place.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from types import TracebackType

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

from airlock.render import mb, rate

__all__ = ["Transfer", "mb", "rate"]


class Transfer:
    """Byte and file counts of one phase; thread-safe."""

    def __init__(
        self,
        phase: str,
        files: int,
        total_bytes: int | None,
        *,
        say: Callable[[str], None] = print,
        console: Console | None = None,
    ) -> None:
        self.phase = phase
        self.files = files
        self.total_bytes = total_bytes
        self.bytes = 0
        self.finished = 0
        self._say = say
        self._lock = threading.Lock()
        self._t0 = time.monotonic()
        console = console or Console()
        self._live: Progress | None = None
        if console.is_terminal:
            # the bar follows bytes when the index gave sizes, else finished files
            self._live = Progress(
                TextColumn("{task.description:8}"),
                BarColumn(),
                TextColumn("{task.fields[done]}/{task.fields[files]} files  {task.fields[got]}{task.fields[of]}  {task.fields[speed]}"),
                TimeRemainingColumn(),
                console=console,
            )
            self._task = self._live.add_task(
                phase, total=total_bytes or files, done=0, files=files, got=mb(0), of=f" of {mb(total_bytes)}" if total_bytes else "", speed="-"
            )

    def __enter__(self) -> Transfer:
        if self._live is not None:
            self._live.start()
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        if self._live is not None:
            self._live.stop()

    def advance(self, n: int) -> None:
        with self._lock:
            self.bytes += n
            got = self.bytes
        if self._live is not None:
            fields = {"got": mb(got), "speed": rate(got, time.monotonic() - self._t0)}
            self._live.update(self._task, completed=got if self.total_bytes else None, **fields)

    def done(self, name: str, size: int) -> None:
        with self._lock:
            self.finished += 1
            finished = self.finished
            if self._live is None:
                # under the lock: print() writes the text and its newline separately, so threads would interleave
                self._say(self.line(name, size))
        if self._live is not None:
            self._live.update(self._task, done=finished, completed=None if self.total_bytes else finished)

    def line(self, name: str, size: int) -> str:
        """``wheels   [3/20] numpy-….whl 14.2 MB; phase 40.1 MB of 92.0 MB at 31.0 MB/s``"""
        of = f" of {mb(self.total_bytes)}" if self.total_bytes else ""
        elapsed = time.monotonic() - self._t0
        return f"{self.phase:8} [{self.finished}/{self.files}] {name} {mb(size)}; phase {mb(self.bytes)}{of} at {rate(self.bytes, elapsed)}"
