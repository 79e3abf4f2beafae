"""Locking: resolve a preset's requirements for its *target* into ``locks/<preset>.txt``.

The lock is pip-tools' ``requirements.txt`` format (:mod:`airlock.lockfile`): every
transitive dependency pinned with ``==``, one ``--hash=sha256:`` per distribution
file, resolved for the preset's Python and platform (:class:`airlock.target.Target`),
never the host's.

Engines
-------
Two engines sit behind one interface (:class:`Engine`) and write the same format:
airlock parses the engine's output into :class:`~airlock.lockfile.Pin` records and
renders the lock itself, with its own header.

``uv`` (default)
    ``uv pip compile --python-version X --python-platform <arch>-manylinux_<glibc>``
    resolves for any target in seconds.
``pip-tools``
    ``python -m piptools compile`` resolves only for the interpreter that runs it,
    so it is refused (exit 2, suggesting ``--engine uv``) when the preset's Python
    version, CPU or glibc differ from this interpreter's. Where both can run they
    give identical pins and hashes (``tests/test_lock_engines.py``).

Both run isolated from the machine's configuration: explicit ``--index-url`` (PyPI)
and, when the preset's torch index is not PyPI, that index as ``--extra-index-url``;
``--no-config``; every ``PIP_*``/``UV_*`` variable removed from the child's
environment (mapped to ``None`` in the ``env`` given to :func:`airlock.runner.run`);
pip's own config files switched off with ``PIP_CONFIG_FILE=/dev/null`` (pip-tools
ignores ``--pip-args --isolated`` for them).

Index strategy: uv's default ``first-index`` is kept; ``--index-strategy
unsafe-best-match`` is *not* used. For a PyPI-only preset there is one index, so the
strategy does not matter. For a preset whose torch set comes from
download.pytorch.org, ``first-index`` takes every package that index carries (torch,
its nvidia-* and triton deps, and its copies of numpy, pillow, ...) from that index
only, which is what keeps a ``+cu118`` torch and its CUDA libraries from one build
and protects against a same-named package on the other index. Should a requirement
need a version only PyPI has, uv says so and names the package; the fix is to pin a
version the torch index carries. (pip merges indexes instead; pip-tools cannot lock
those presets on this machine anyway: they are Python 3.10 targets.)

Staleness
---------
The header records ``airlock-input-digest: sha256:<hex>``, the sha256 of the
canonical JSON (sorted keys, no spaces) of the lock's inputs (:class:`LockInputs`):
preset name, Python version, target label, platform, the requirement lines
(:func:`airlock.presets.requirements_lines`, in order; comments and blank lines of an
``.in`` file do not count) and the index URLs. A lock whose digest differs is stale;
``verify``, ``sync`` and ``build`` refuse it.

*Decision* (an earlier design listed the engine version among the inputs): the
engine and its version are **not** in the digest. An engine upgrade,
or locking the same inputs with the other engine, does not change what the lock
must satisfy, and must not make every committed lock stale. The engine is recorded
separately in the header (``airlock-engine: uv 0.13.9``).

Plan, then apply
----------------
:func:`plan_lock` is pure: given what is known about each preset (its inputs and the
digest of its existing lock) it decides what to do (:func:`decide`, table there).
:func:`apply_lock` runs the engine for each preset that needs it, renders, and writes
atomically; a preset that fails to lock leaves its file untouched while the others
are still locked, and the run ends in one :class:`LockFailed` (exit 3) naming each.
"""

from __future__ import annotations

import json
import os
import platform as _platform
import re
import shutil
import sys
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from airlock import compat
from airlock.errors import AirlockError, ExternalError, InputError, IntegrityError
from airlock.fsutil import atomic_write_text, sha256_bytes
from airlock.lockfile import Lockfile, Pin, parse, parse_pins, render
from airlock.presets import Preset, load_preset, preset_names, requirements_lines
from airlock.project import Project
from airlock.runner import run
from airlock.target import Target

ENGINES = ("uv", "pip-tools")
DEFAULT_ENGINE = "uv"
#: bump when the meaning of the digest's inputs changes (every lock becomes stale)
DIGEST_SCHEMA = 1
#: the name the requirement file has inside the engine's scratch folder
_REQ_FILE = "requirements.in"


# ------------------------------------------------------------------ inputs


@dataclass(frozen=True)
class LockInputs:
    """Everything a lock depends on; its :attr:`digest` goes into the lock header."""

    preset: str
    python: str  # "3.11"
    target: str  # Target.label: "cp311 linux/amd64 glibc2.36"
    platform: str  # the preset's platform: "linux/amd64"
    requirements: tuple[str, ...]
    index_url: str
    extra_index_urls: tuple[str, ...] = ()

    def canonical(self) -> bytes:
        doc = {
            "schema": DIGEST_SCHEMA,
            "preset": self.preset,
            "python": self.python,
            "target": self.target,
            "platform": self.platform,
            "requirements": list(self.requirements),
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def digest(self) -> str:
        return "sha256:" + sha256_bytes(self.canonical())


def index_urls(preset: Preset) -> tuple[str, tuple[str, ...]]:
    """``(index_url, extra_index_urls)``: PyPI, plus the torch index when it is not PyPI."""
    extra: tuple[str, ...] = ()
    if preset.torch is not None:
        url = preset.torch.index_url.rstrip("/")
        if url != compat.PYPI_SIMPLE:
            extra = (url,)
    return compat.PYPI_SIMPLE, extra


def lock_inputs(project: Project, preset: Preset) -> LockInputs:
    target = Target.for_preset(preset)
    index, extra = index_urls(preset)
    return LockInputs(
        preset=preset.name,
        python=preset.python.version,
        target=target.label,
        platform=preset.platform,
        requirements=tuple(requirements_lines(project, preset)),
        index_url=index,
        extra_index_urls=extra,
    )


def input_digest(project: Project, preset: Preset) -> str:
    """The digest a fresh lock of ``preset`` records (``sha256:<hex>``)."""
    return lock_inputs(project, preset).digest


# ------------------------------------------------------------------ host


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


# ------------------------------------------------------------------ plan


class Reason(str, Enum):
    MISSING = "missing"
    INVALID = "unreadable"
    STALE = "stale"
    UPGRADE = "upgrade"
    FRESH = "fresh"


@dataclass(frozen=True)
class Decision:
    lock: bool
    reason: Reason
    keep_pins: bool  # hand the existing lock to the engine as its output file


#: The existing lock's state as :func:`decide` sees it.
MISSING = None
INVALID = "invalid"


def decide(existing: str | None, wanted: str, upgrade: bool) -> Decision:
    """Lock this preset or not, and whether to keep the existing lock's pins.

    ``existing`` is the digest in the current lock's header, :data:`MISSING` (None)
    when there is no lock, or :data:`INVALID` when it cannot be read.

    ================  ==========  =========  ======  ==========
    existing lock     digest      upgrade    lock?   keep pins
    ================  ==========  =========  ======  ==========
    missing           -           any        yes     no  (missing)
    unreadable        -           any        yes     no  (unreadable)
    present           == wanted   no         no      -   (fresh)
    present           == wanted   yes        yes     no  (upgrade)
    present           != wanted   no         yes     yes (stale)
    present           != wanted   yes        yes     no  (upgrade)
    ================  ==========  =========  ======  ==========

    Keeping pins means the engine prefers the versions already locked and moves only
    what the changed inputs force; ``--upgrade`` lets everything move.
    """
    if existing is MISSING:
        return Decision(True, Reason.MISSING, False)
    if existing == INVALID:
        return Decision(True, Reason.INVALID, False)
    if upgrade:
        return Decision(True, Reason.UPGRADE, False)
    if existing == wanted:
        return Decision(False, Reason.FRESH, False)
    return Decision(True, Reason.STALE, True)


@dataclass(frozen=True)
class LockItem:
    """What planning knows about one preset, read from disk beforehand."""

    inputs: LockInputs
    target: Target
    existing: str | None  # the existing lock's digest, MISSING or INVALID
    problem: str = ""  # why an existing lock is INVALID

    @property
    def name(self) -> str:
        return self.inputs.preset


@dataclass(frozen=True)
class LockStep:
    item: LockItem
    decision: Decision

    @property
    def name(self) -> str:
        return self.item.name


@dataclass(frozen=True)
class LockPlan:
    engine: str
    upgrade: bool
    steps: tuple[LockStep, ...]

    @property
    def todo(self) -> tuple[LockStep, ...]:
        return tuple(s for s in self.steps if s.decision.lock)

    def render(self) -> str:
        rows = [f"{s.name}: {'lock' if s.decision.lock else 'keep'} ({s.decision.reason.value})" for s in self.steps]
        return "\n".join(rows)


def gather(project: Project, names: Sequence[str], env: Mapping[str, str] | None = None) -> list[LockItem]:
    """Load and validate every named preset (all when empty) and read its lock's digest."""
    chosen = list(dict.fromkeys(names)) or preset_names(project)
    if not chosen:
        raise InputError(f"{project.presets_dir}: no presets")
    items = []
    for name in chosen:
        preset = load_preset(project, name, env)
        inputs = lock_inputs(project, preset)
        path = project.lock_path(name)
        existing: str | None = MISSING
        problem = ""
        if path.exists():
            try:
                existing = parse(path.read_text(), str(path)).input_digest
            except (AirlockError, UnicodeDecodeError) as exc:
                existing, problem = INVALID, str(exc)
        items.append(LockItem(inputs, Target.for_preset(preset), existing, problem))
    return items


def plan_lock(items: Sequence[LockItem], *, engine: str = DEFAULT_ENGINE, upgrade: bool = False, host: Host | None = None) -> LockPlan:
    """Decide, for each preset, whether it needs locking (pure, given ``host``).

    Raises InputError before anything runs for an unknown engine, or when pip-tools
    is asked for a preset it must lock but cannot resolve for (see
    :func:`pip_tools_mismatch`).
    """
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: not one of {', '.join(ENGINES)}")
    steps = tuple(LockStep(it, decide(it.existing, it.inputs.digest, upgrade)) for it in items)
    if engine == "pip-tools":
        host = host or Host.current()
        for step in steps:
            why = pip_tools_mismatch(step.item.target, host) if step.decision.lock else None
            if why:
                raise InputError(
                    f"{step.name}: pip-tools resolves only for the Python running it ({host.label}), "
                    f"not for the preset's target {step.item.target.label} ({why}); use --engine uv, which resolves for any target"
                )
    return LockPlan(engine, upgrade, steps)


def check_plan(project: Project, plan: LockPlan) -> None:
    """``--check``: IntegrityError naming every missing, unreadable or stale lock."""
    bad = []
    for s in plan.steps:
        if s.decision.reason is Reason.FRESH:
            continue
        rel = project.lock_path(s.name).relative_to(project.root)
        what = {
            Reason.MISSING: "is missing",
            Reason.INVALID: f"cannot be read ({s.item.problem})",
            Reason.STALE: "is stale (its preset's inputs changed)",
            Reason.UPGRADE: "is stale",
        }[s.decision.reason]
        bad.append(f"{rel} {what}; run: inv lock --preset {s.name}")
    if bad:
        raise IntegrityError(f"{len(bad)} of {len(plan.steps)} locks out of date: " + " | ".join(bad))


# ------------------------------------------------------------------ engines


class LockFailed(ExternalError):
    """One or more presets could not be locked; the others were."""

    def __init__(self, failures: Sequence[tuple[str, str, str]], locked: int) -> None:
        self.failures = list(failures)
        parts = [f"{name} ({engine}): {reason}" for name, engine, reason in failures]
        tail = f"; {locked} other preset{'s' if locked != 1 else ''} locked" if locked else ""
        super().__init__(f"lock failed for {len(failures)} preset{'s' if len(failures) != 1 else ''}: " + " | ".join(parts) + tail)


class _EngineFailed(ExternalError):
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
                raise _EngineFailed(summarize_failure((proc.stdout or "") + "\n" + (proc.stderr or "")))
            try:
                pins = parse_pins(out.read_text(), f"{self.name} output")
            except (AirlockError, FileNotFoundError) as exc:
                raise _EngineFailed(f"unexpected output: {exc}") from None
        if not pins:
            raise _EngineFailed("resolved no packages")
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
            "--index-url", inputs.index_url,
        ]  # fmt: skip
        for url in inputs.extra_index_urls:
            argv += ["--extra-index-url", url]
        if upgrade:
            argv.append("--upgrade")
        if cache_dir is not None:
            argv += ["--cache-dir", str(cache_dir)]
        return argv + ["-o", out, _REQ_FILE]


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
            "--index-url", inputs.index_url,
        ]  # fmt: skip
        for url in inputs.extra_index_urls:
            argv += ["--extra-index-url", url]
        if upgrade:
            argv.append("--upgrade")
        if cache_dir is not None:
            argv += ["--cache-dir", str(cache_dir / "pip-tools"), "--pip-args", f"--cache-dir {cache_dir / 'pip'}"]
        return argv + ["-o", out, _REQ_FILE]


def engine_for(name: str) -> Engine:
    if name == "uv":
        return UvEngine()
    if name == "pip-tools":
        return PipToolsEngine()
    raise InputError(f"--engine {name!r}: not one of {', '.join(ENGINES)}")


# ------------------------------------------------------------------ apply


@dataclass(frozen=True)
class LockResult:
    name: str
    engine: str
    reason: Reason
    written: bool
    pins: int = 0
    hashes: int = 0
    seconds: float = 0.0
    error: str = ""
    path: Path | None = None

    def render(self) -> str:
        if self.error:
            return f"{self.name}  {self.engine}  FAILED ({self.reason.value})  {self.seconds:.1f} s  {self.error}"
        if not self.written:
            return f"{self.name}  -  fresh, kept  {self.pins} pins  {self.hashes} hashes"
        return f"{self.name}  {self.engine}  {self.pins} pins  {self.hashes} hashes  {self.seconds:.1f} s  ({self.reason.value})"


def build_lock(step: LockStep, engine: Engine, engine_version: str, *, existing: str | None, upgrade: bool, cache_dir: Path | None = None) -> Lockfile:
    """Resolve one preset with ``engine`` and return the lock (nothing written)."""
    inputs = step.item.inputs
    pins = engine.resolve(inputs, step.item.target, existing=existing, upgrade=upgrade, cache_dir=cache_dir)
    return Lockfile(
        preset=inputs.preset,
        engine=engine_version,
        target=inputs.target,
        input_digest=inputs.digest,
        index_url=inputs.index_url,
        extra_index_urls=inputs.extra_index_urls,
        pins=pins,
    )


def apply_lock(
    project: Project,
    plan: LockPlan,
    *,
    engine: Engine | None = None,
    cache_dir: Path | None = None,
    report: Callable[[LockResult], None] | None = None,
) -> list[LockResult]:
    """Lock every preset the plan names; write each lock atomically as it succeeds.

    A preset that fails keeps its old file (or none); the others are still locked,
    and the run ends in :class:`LockFailed` naming each failure.
    """
    report = report or (lambda r: None)
    eng = engine or engine_for(plan.engine)
    results: list[LockResult] = []
    version: str | None = None
    for step in plan.steps:
        path = project.lock_path(step.name)
        if not step.decision.lock:
            res = LockResult(step.name, "-", step.decision.reason, False, path=path, **_counts(path))
            results.append(res)
            report(res)
            continue
        t0 = time.monotonic()
        try:
            version = version or eng.version()
            existing = path.read_text() if step.decision.keep_pins else None
            lock = build_lock(step, eng, version, existing=existing, upgrade=plan.upgrade, cache_dir=cache_dir)
            text = render(lock)
            if parse(text, str(path)) != lock:  # the format must carry everything we resolved
                raise _EngineFailed("the rendered lock does not parse back to the same pins")
            atomic_write_text(path, text)
        except AirlockError as exc:
            reason = exc.reason if isinstance(exc, _EngineFailed) else str(exc)
            res = LockResult(step.name, eng.name, step.decision.reason, False, seconds=time.monotonic() - t0, error=reason, path=path)
        else:
            res = LockResult(step.name, eng.name, step.decision.reason, True, len(lock.pins), lock.hash_count, time.monotonic() - t0, path=path)
        results.append(res)
        report(res)
    failed = [r for r in results if r.error]
    if failed:
        raise LockFailed([(r.name, r.engine, r.error) for r in failed], sum(1 for r in results if r.written))
    return results


def _counts(path: Path) -> dict[str, int]:
    try:
        lock = parse(path.read_text(), str(path))
    except (AirlockError, OSError, UnicodeDecodeError):
        return {}
    return {"pins": len(lock.pins), "hashes": lock.hash_count}


def lock_presets(
    project: Project,
    names: Sequence[str] = (),
    *,
    engine: str = DEFAULT_ENGINE,
    upgrade: bool = False,
    report: Callable[[LockResult], None] | None = None,
) -> list[LockResult]:
    """Plan and apply in one call: lock ``names`` (all presets when empty) if needed."""
    plan = plan_lock(gather(project, names), engine=engine, upgrade=upgrade)
    return apply_lock(project, plan, report=report)


__all__ = [
    "DEFAULT_ENGINE",
    "ENGINES",
    "Decision",
    "Engine",
    "Host",
    "LockFailed",
    "LockInputs",
    "LockItem",
    "LockPlan",
    "LockResult",
    "LockStep",
    "PipToolsEngine",
    "Reason",
    "UvEngine",
    "apply_lock",
    "build_lock",
    "check_plan",
    "decide",
    "engine_for",
    "gather",
    "index_urls",
    "input_digest",
    "lock_inputs",
    "lock_presets",
    "pip_tools_mismatch",
    "plan_lock",
    "summarize_failure",
]
