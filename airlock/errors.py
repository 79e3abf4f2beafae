"""One error hierarchy; the task boundary turns each into one line and an exit code.

Exit codes (documented in the README and docs/build-guide.md):

====  ==========================================================================
code  meaning
====  ==========================================================================
0     success
1     integrity problem: a checksum, size, missing/extra file, stale lock or
      artifacts, a lock that does not cover its preset
2     bad input: malformed or incompatible preset, bad name, bad flag, missing
      file the user was asked to provide
3     an external step failed: a command (docker, pip, uv, apt) or a download
4     busy: another airlock process holds the store (a sync is writing it)
5     internal error: a bug in airlock (rerun with AIRLOCK_DEBUG=1 for the traceback)
6     no GPU: ``inv smoke --gpu`` on an engine that cannot give a container the GPUs
130   interrupted (Ctrl-C)
====  ==========================================================================
"""

from __future__ import annotations

from enum import IntEnum
from pathlib import Path


class ExitCode(IntEnum):
    OK = 0
    INTEGRITY = 1
    BAD_INPUT = 2
    EXTERNAL = 3
    BUSY = 4
    INTERNAL = 5
    NO_GPU = 6
    INTERRUPTED = 130


class AirlockError(Exception):
    """Base class: ``str(err)`` is the whole one-line, actionable message."""

    exit_code: ExitCode = ExitCode.EXTERNAL


class InputError(AirlockError):
    """The user's input is wrong: a preset, a flag, a name, a path."""

    exit_code = ExitCode.BAD_INPUT


class PresetError(InputError):
    """A preset file is malformed, has an unknown/bad field or breaks a rule."""

    def __init__(self, path: Path | str, field: str | None, message: str) -> None:
        self.path = str(path)
        self.field = field
        self.message = message
        where = f"{self.path}: {field}" if field else self.path
        super().__init__(f"{where}: {message}")


class IntegrityError(AirlockError):
    """Artifacts or locks are incomplete, altered or stale."""

    exit_code = ExitCode.INTEGRITY


class HashMismatch(IntegrityError):
    """Bytes whose sha256 is not the pinned one. ``reveal=False`` (a local ``file://`` source) keeps the
    actual digest out of the message: a preset must not make airlock print the digest of any file on the machine."""

    def __init__(self, what: str, expected: str, actual: str, *, reveal: bool = True) -> None:
        self.what = what
        self.expected = expected
        self.actual = actual
        got = f"got {actual}" if reveal else "the local file's own digest is not printed; check it with sha256sum if it is the file you meant"
        super().__init__(f"{what}: sha256 mismatch: expected {expected}, {got}")


class BusyError(AirlockError):
    """Another airlock process holds the store; nothing was read or written."""

    exit_code = ExitCode.BUSY


class NoGpuError(AirlockError):
    """The engine cannot run a container with the GPUs (no NVIDIA runtime or toolkit)."""

    exit_code = ExitCode.NO_GPU


class ExternalError(AirlockError):
    """Something outside airlock failed: a download, the Docker engine."""

    exit_code = ExitCode.EXTERNAL


class CommandError(ExternalError):
    """A subprocess exited non-zero; carries the command, code and output tail.

    The message stays one readable line: a long command (a docker build with a dozen
    labels) shows its first words and its last argument, and each of the last three
    output lines is cut at ``LINE_MAX``; the full output was already streamed above.
    """

    CMD_MAX = 160
    LINE_MAX = 200

    def __init__(self, argv: list[str], returncode: int, tail: str) -> None:
        self.argv = list(argv)
        self.returncode = returncode
        self.tail = tail
        from shlex import join

        def cut(text: str) -> str:
            return text if len(text) <= self.LINE_MAX else text[: self.LINE_MAX - 1] + "…"

        cmd = join(self.argv)
        if len(cmd) > self.CMD_MAX and len(self.argv) > 3:
            cmd = f"{join(self.argv[:3])} … {join(self.argv[-1:])}"
        last = " | ".join(cut(line.strip()) for line in tail.strip().splitlines()[-3:] if line.strip())
        msg = f"command failed (exit {returncode}): {cmd}"
        if last:
            msg += f": {last}"
        super().__init__(msg)


#: Set it (to anything) to see the traceback of an internal error.
DEBUG_VAR = "AIRLOCK_DEBUG"


def describe(exc: BaseException) -> tuple[str, ExitCode]:
    """The one line (``airlock: ...``) and exit code the boundary gives for ``exc``.

    An AirlockError is the user's (or the outside world's) problem and says how to fix
    it; Ctrl-C is 130; anything else is a bug in airlock: exit 5 with its type and
    message on one line and how to see the traceback.
    """
    if isinstance(exc, AirlockError):
        return f"airlock: error: {_one_line(str(exc))}", exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return "airlock: interrupted", ExitCode.INTERRUPTED
    return (
        f"airlock: internal error: {type(exc).__name__}: {_one_line(str(exc))}; "
        f"rerun with {DEBUG_VAR}=1 for the traceback, and report it",
        ExitCode.INTERNAL,
    )


def _one_line(text: str) -> str:
    return " ".join(text.splitlines())


def handle(exc: BaseException) -> int:
    """The boundary's action: print :func:`describe`'s line on stderr (and, for an internal
    error with ``AIRLOCK_DEBUG`` set, the traceback first); return the exit code."""
    import os
    import sys
    import traceback

    line, code = describe(exc)
    if code == ExitCode.INTERNAL and os.environ.get(DEBUG_VAR):
        traceback.print_exception(exc)
    print(line, file=sys.stderr)
    return int(code)
