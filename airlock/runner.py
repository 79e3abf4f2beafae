"""The one subprocess runner: argv lists only, the command logged, failures raised."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from airlock.errors import CommandError

log = logging.getLogger("airlock.run")

TAIL_LINES = 30


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    input: bytes | None = None,
    capture: bool = True,
    stream: bool = False,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (never through a shell).

    ``capture`` keeps stdout/stderr as text on the result; ``stream`` echoes the
    combined output to stderr as it arrives (for long builds) while keeping the
    tail for the error message. On a non-zero exit with ``check`` a
    :class:`CommandError` carries the command, its exit code and its output tail.
    """
    args = [os.fspath(a) for a in argv]
    log.info("$ %s", shlex.join(args))
    full_env = None if env is None else {**os.environ, **env}
    if stream:
        return _run_streaming(args, cwd=cwd, env=full_env, input=input, check=check, timeout=timeout)
    try:
        proc = subprocess.run(
            args,
            cwd=cwd,
            env=full_env,
            input=input.decode() if input is not None else None,
            stdout=subprocess.PIPE if capture else None,
            stderr=subprocess.PIPE if capture else None,
            text=True,
            errors="replace",
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError as exc:
        raise CommandError(args, 127, f"{args[0]}: not found") from exc
    except subprocess.TimeoutExpired as exc:
        raise CommandError(args, -1, f"timed out after {timeout} s") from exc
    if check and proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-TAIL_LINES:])
        raise CommandError(args, proc.returncode, tail)
    return proc


def _run_streaming(args, *, cwd, env, input, check, timeout):  # type: ignore[no-untyped-def]
    from collections import deque

    tail: deque[str] = deque(maxlen=TAIL_LINES)
    lines: list[str] = []
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except FileNotFoundError as exc:
        raise CommandError(args, 127, f"{args[0]}: not found") from exc
    if input is not None:
        assert proc.stdin is not None
        proc.stdin.write(input.decode())
        proc.stdin.close()
    assert proc.stdout is not None
    for line in proc.stdout:
        sys.stderr.write(line)
        tail.append(line)
        lines.append(line)
    code = proc.wait(timeout=timeout)
    if check and code != 0:
        raise CommandError(args, code, "".join(tail))
    return subprocess.CompletedProcess(args, code, "".join(lines), "")
