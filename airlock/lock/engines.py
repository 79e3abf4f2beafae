"""The lock engines behind one interface (uv, pip-tools), the host probe that says when pip-tools can run, and engine failures."""

from __future__ import annotations

import os
import platform as _platform
import re
import shutil
import sys
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from airlock.errors import AirlockError, ExternalError, InputError
from airlock.lock.inputs import LockInputs
from airlock.lockfile import Pin, parse_pins
from airlock.runner import run
from airlock.target import Target

ENGINES = ("uv", "pip-tools")
DEFAULT_ENGINE = "uv"
#: the name the requirement file has inside the engine's scratch folder
_REQ_FILE = "requirements.in"


@dataclass(frozen=True)
class Host:
    """The interpreter airlock runs under: the only target pip-tools can resolve for."""

    implementation: str  # "cpython"
    python_version: str  # "3.11"
    arch: str  # "x86_64"
    glibc: tuple[int, int] | None  # None: not a glibc system

    @classmethod
    def current(cls) -> "Host":
        glibc: tuple[int, int] | None = None
        try:
            lib, _, ver = (os.confstr("CS_GNU_LIBC_VERSION") or "").partition(" ")
            if lib == "glibc":
                major, minor = ver.split(".")[:2]
                glibc = (int(major), int(minor))
        except (ValueError, OSError):
            glibc = None
        return cls(sys.implementation.name, f"{sys.version_info.major}.{sys.version_info.minor}", _platform.machine(), glibc)

    @property
    def label(self) -> str:
        libc = f"glibc {self.glibc[0]}.{self.glibc[1]}" if self.glibc else "no glibc"
        return f"{self.implementation} {self.python_version}, {self.arch}, {libc}"


def pip_tools_mismatch(target: Target, host: Host) -> str | None:
    """Why pip-tools cannot lock for ``target`` on ``host``, or None when it can.

    pip-compile resolves for the interpreter that runs it: the Python version, the
    CPU and the glibc (which manylinux wheels it accepts) must all be the target's.
    """
    diffs = []
    if host.implementation != "cpython":
        diffs.append(f"needs CPython (this is {host.implementation})")
    if host.python_version != target.python_version:
        diffs.append(f"needs Python {target.python_version} (this is {host.python_version})")
    if host.arch != target.arch:
        diffs.append(f"needs {target.arch} (this is {host.arch})")
    if host.glibc != target.glibc:
        have = f"{host.glibc[0]}.{host.glibc[1]}" if host.glibc else "none"
        diffs.append(f"needs glibc {target.glibc[0]}.{target.glibc[1]} (this is {have})")
    return "; ".join(diffs) or None
class LockFailed(ExternalError):
    """One or more presets could not be locked; the others were."""

    def __init__(self, failures: Sequence[tuple[str, str, str]], locked: int) -> None:
        self.failures = list(failures)
        self.locked = locked
        parts = [f"{name} ({engine}): {reason}" for name, engine, reason in failures]
        tail = f"; {locked} other preset{'s' if locked != 1 else ''} locked" if locked else ""
        super().__init__(f"lock failed for {len(failures)} preset{'s' if len(failures) != 1 else ''}: " + " | ".join(parts) + tail)


class EngineFailed(ExternalError):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


_MAX_REASON = 400


def summarize_failure(output: str) -> str:
    """The engine's last error, as one line.

    uv: the last ``error:`` line and its ``cause:`` chain (first two and last kept);
    pip-compile: the exception line a traceback ends in, else the last ``ERROR:`` line.
    """
    lines = [ln.rstrip() for ln in output.splitlines() if ln.strip()]
    starts = [i for i, ln in enumerate(lines) if ln.lstrip().startswith(("error:", "× "))]
    if starts:
        chain = [lines[starts[-1]].strip()]
        for ln in lines[starts[-1] + 1 :]:
            s = ln.strip()
            if s.startswith(("cause:", "╰─▶", "help:")) or ln.startswith("  "):
                chain.append(s)
        items = [re.sub(r"^(error|cause|help):\s*|^(×|╰─▶)\s*", "", c) for c in chain]
        items = [i for n, i in enumerate(items) if i and i not in items[:n]]
        if len(items) > 3:
            items = items[:2] + ["…", items[-1]]
        text = ": ".join(items).replace(": …:", " …")
    elif any(ln.startswith("Traceback") for ln in lines):
        text = re.sub(r"^(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*:)", "", lines[-1].strip())
    else:
        errs = [ln.strip() for ln in lines if ln.strip().startswith("ERROR:")]
        text = (errs[-1] if errs else (lines[-1].strip() if lines else "no output")).removeprefix("ERROR: ")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON else text[: _MAX_REASON - 1] + "…"


def _isolated_env(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Every PIP_*/UV_* variable of ``environ`` mapped to ``None``: removed for the engine."""
    environ = os.environ if environ is None else environ
    return {k: None for k in sorted(environ) if k.startswith(("PIP_", "UV_"))}


class Engine(ABC):
    """A lock engine: resolves requirements for a target into hashed pins."""

    name: str

    @abstractmethod
    def version(self) -> str:
        """``"uv 0.13.9"`` / ``"pip-tools 7.6.2"``, recorded in the lock header."""

    @abstractmethod
    def argv(self, inputs: LockInputs, target: Target, *, out: str, upgrade: bool, cache_dir: Path | None) -> list[str]:
        """The command, run in a scratch folder holding ``requirements.in`` and ``out``."""

    def extra_env(self) -> dict[str, str]:
        return {}

    def resolve(
        self,
        inputs: LockInputs,
        target: Target,
        *,
        existing: str | None = None,
        upgrade: bool = False,
        cache_dir: Path | None = None,
    ) -> tuple[Pin, ...]:
        """Run the engine in a scratch folder; ``existing`` (a lock's text) seeds its pins."""
        if not inputs.requirements:
            return ()
        with tempfile.TemporaryDirectory(prefix="airlock-lock-") as tmp:
            work = Path(tmp)
            (work / _REQ_FILE).write_text("\n".join(inputs.requirements) + "\n")
            out = work / "lock.txt"
            if existing is not None:
                out.write_text(existing)
            argv = self.argv(inputs, target, out=out.name, upgrade=upgrade, cache_dir=cache_dir)
            proc = run(argv, cwd=work, env={**_isolated_env(), **self.extra_env()}, check=False)
            if proc.returncode != 0:
                raise EngineFailed(summarize_failure((proc.stdout or "") + "\n" + (proc.stderr or "")))
            try:
                pins = parse_pins(out.read_text(), f"{self.name} output")
            except (AirlockError, FileNotFoundError) as exc:
                raise EngineFailed(f"unexpected output: {exc}") from None
        if not pins:
            raise EngineFailed("resolved no packages")
        via_from = f"-r {_REQ_FILE}"
        return tuple(
            Pin(p.name, p.version, p.hashes, tuple(f"preset {inputs.preset}" if v == via_from else v for v in p.via), p.marker, p.extras)
            for p in pins
        )


def _uv_bin() -> str:
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        pass
    beside = Path(sys.executable).with_name("uv")
    found = str(beside) if beside.exists() else shutil.which("uv")
    if not found:
        raise ExternalError("uv: not found (it is a dependency of airlock: pip install uv), or use --engine pip-tools")
    return found


class UvEngine(Engine):
    name = "uv"

    def __init__(self, binary: str | None = None) -> None:
        self._bin = binary

    @property
    def binary(self) -> str:
        if self._bin is None:
            self._bin = _uv_bin()
        return self._bin

    def version(self) -> str:
        out = run([self.binary, "--version"], env=_isolated_env()).stdout.split()
        return f"uv {out[1]}" if len(out) > 1 else "uv"

    def argv(self, inputs: LockInputs, target: Target, *, out: str, upgrade: bool, cache_dir: Path | None) -> list[str]:
        argv = [
            self.binary, "pip", "compile", "--no-config", "--no-python-downloads", "--color", "never", "--no-progress",
            "--generate-hashes", "--no-header",
            "--python-version", target.python_version, "--python-platform", target.uv_platform,
        ]  # fmt: skip
        cache = ["--cache-dir", str(cache_dir)] if cache_dir is not None else []
        return _with_inputs(argv, inputs, upgrade=upgrade, cache=cache, out=out)


class PipToolsEngine(Engine):
    """pip-compile under this very interpreter (the only one it can resolve for)."""

    name = "pip-tools"

    def __init__(self, python: str | None = None) -> None:
        self.python = python or sys.executable

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return f"pip-tools {version('pip-tools')}"
        except PackageNotFoundError:
            raise ExternalError("pip-tools: not installed in this environment (pip install pip-tools), or use --engine uv") from None

    def extra_env(self) -> dict[str, str]:
        # pip reads no config file at all (pip.conf adds find-links/extra indexes here)
        return {"PIP_CONFIG_FILE": os.devnull}

    def argv(self, inputs: LockInputs, target: Target, *, out: str, upgrade: bool, cache_dir: Path | None) -> list[str]:
        argv = [
            self.python, "-m", "piptools", "compile", "--no-config", "--no-color",
            "--generate-hashes", "--allow-unsafe", "--strip-extras", "--no-header",
            "--no-emit-index-url", "--no-emit-find-links", "--no-emit-trusted-host", "--no-emit-options",
        ]  # fmt: skip
        cache = ["--cache-dir", str(cache_dir / "pip-tools"), "--pip-args", f"--cache-dir {cache_dir / 'pip'}"] if cache_dir is not None else []
        return _with_inputs(argv, inputs, upgrade=upgrade, cache=cache, out=out)


def _with_inputs(argv: list[str], inputs: LockInputs, *, upgrade: bool, cache: list[str], out: str) -> list[str]:
    """The tail both engines share: the indexes, --upgrade, the cache flags, the output and the requirement file."""
    argv = [*argv, "--index-url", inputs.index_url]
    for url in inputs.extra_index_urls:
        argv += ["--extra-index-url", url]
    if upgrade:
        argv.append("--upgrade")
    return [*argv, *cache, "-o", out, _REQ_FILE]


def engine_for(name: str) -> Engine:
    if name == "uv":
        return UvEngine()
    if name == "pip-tools":
        return PipToolsEngine()
    raise InputError(f"--engine {name!r}: not one of {', '.join(ENGINES)}")
