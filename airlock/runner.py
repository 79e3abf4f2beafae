"""The one subprocess runner: argv lists only, the command logged, failures raised."""

from __future__ import annotations

import codecs
import logging
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

from airlock.errors import CommandError

log = logging.getLogger("airlock.run")

TAIL_LINES = 30


def child_env(env: Mapping[str, str | None] | None, base: Mapping[str, str] | None = None) -> dict[str, str] | None:
    """This process's environment (or ``base``) with ``env`` applied; ``None`` values remove.

    ``None`` for the whole mapping means "inherit unchanged" (the child gets ``None``, which
    :mod:`subprocess` reads the same way). As in nox's ``_clean_env``, a variable mapped to
    ``None`` is absent in the child, so no caller needs ``env -u``.
    """
    if env is None:
        return None
    out = dict(os.environ if base is None else base)
    for name, value in env.items():
        if value is None:
            out.pop(name, None)
        else:
            out[name] = value
    return out


class Runner(Protocol):
    """The shape of :func:`run`: a module that runs commands takes ``run: Runner = run`` as a
    parameter, so a caller (a test) passes another runner instead of patching a module global."""

    def __call__(
        self,
        argv: Sequence[str | os.PathLike[str]],
        *,
        cwd: Path | None = None,
        env: Mapping[str, str | None] | None = None,
        input: bytes | None = None,
        capture: bool = True,
        stream: bool = False,
        check: bool = True,
        timeout: float | None = None,
    ) -> subprocess.CompletedProcess[str]: ...


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str | None] | None = None,
    input: bytes | None = None,
    capture: bool = True,
    stream: bool = False,
    check: bool = True,
    timeout: float | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (never through a shell).

    ``env`` adds or replaces variables of this process's environment; a value of ``None``
    removes that variable from the child's. ``capture`` keeps stdout/stderr as text on the
    result; ``stream`` echoes the combined output to stderr as it arrives (for long builds)
    while keeping the tail for the error message. ``timeout`` (seconds) ends the child,
    streaming or not, and raises :class:`CommandError` saying so. On a non-zero exit with
    ``check`` a :class:`CommandError` carries the command, its exit code and its output tail.
    """
    args = [os.fspath(a) for a in argv]
    log.info("$ %s", shlex.join(args))
    full_env = child_env(env)
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
        raise CommandError(args, -1, f"timed out after {timeout:g} s") from exc
    if check and proc.returncode != 0:
        tail = "\n".join(((proc.stdout or "") + (proc.stderr or "")).splitlines()[-TAIL_LINES:])
        raise CommandError(args, proc.returncode, tail)
    return proc


def _kill(proc: subprocess.Popen[bytes], group: bool) -> None:
    """End ``proc`` (and its process group, when it leads one) and reap it."""
    try:
        if group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass
    proc.wait()


def _run_streaming(
    args: list[str],
    *,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    input: bytes | None,
    check: bool,
    timeout: float | None,
) -> subprocess.CompletedProcess[str]:
    """Echo the child's combined output to stderr as it comes; end it at the deadline.

    The output is read with a deadline (``selectors``), not by iterating the pipe, so a
    child that stops writing still ends on time. With a timeout the child leads a new
    process group and the whole group is killed, so its own children (a docker client's
    helpers, a shell's commands) do not keep the pipe open; without one it stays in ours
    and a Ctrl-C reaches it as usual.
    """
    group = timeout is not None
    try:
        proc = subprocess.Popen(
            args,
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE if input is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=group,
        )
    except FileNotFoundError as exc:
        raise CommandError(args, 127, f"{args[0]}: not found") from exc
    deadline = None if timeout is None else time.monotonic() + timeout
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    chunks: list[str] = []
    timed_out = False
    assert proc.stdout is not None
    try:
        if input is not None:
            assert proc.stdin is not None
            try:
                proc.stdin.write(input)
                proc.stdin.close()
            except BrokenPipeError:
                pass
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as sel:
            sel.register(fd, selectors.EVENT_READ)
            while True:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    timed_out = True
                    break
                if not sel.select(left):
                    continue  # the deadline passed; checked at the top
                data = os.read(fd, 65536)
                if not data:
                    break
                text = decoder.decode(data)
                sys.stderr.write(text)
                sys.stderr.flush()
                chunks.append(text)
        text = decoder.decode(b"", final=True)
        sys.stderr.write(text)
        chunks.append(text)
        if timed_out:
            _kill(proc, group)
        else:
            left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
            try:
                proc.wait(timeout=left)
            except subprocess.TimeoutExpired:  # closed its output but kept running
                timed_out = True
                _kill(proc, group)
    except BaseException:
        _kill(proc, group)
        raise
    finally:
        proc.stdout.close()
    output = "".join(chunks)
    tail = "\n".join(output.splitlines()[-TAIL_LINES:])
    if timed_out:
        raise CommandError(args, -1, f"{tail}\ntimed out after {timeout:g} s; the command was killed")
    code = proc.returncode
    if check and code != 0:
        raise CommandError(args, code, tail)
    return subprocess.CompletedProcess(args, code, output, "")
