"""Run the engine for each planned preset, render, write atomically; one LockFailed for all failures."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from airlock.errors import AirlockError
from airlock.fsutil import atomic_write_text
from airlock.lock.build_deps import resolve_build_deps, write_build_lock
from airlock.lock.engines import DEFAULT_ENGINE, Engine, EngineFailed, LockFailed, engine_for
from airlock.lock.plan import LockPlan, LockStep, Reason, gather, plan_lock
from airlock.lockfile import Lockfile, parse, render
from airlock.project import Project
from airlock.sdist import BUILD_LOCK_SUFFIX, BuildLock


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
    #: what was written beside the lock for its sdist-only pins ("" when nothing)
    build: str = ""

    def render(self) -> str:
        if self.error:
            return f"{self.name}  {self.engine}  FAILED ({self.reason.value})  {self.seconds:.1f} s  {self.error}"
        tail = f"; {self.build}" if self.build else ""
        if not self.written:
            return f"{self.name}  -  fresh, kept  {self.pins} pins  {self.hashes} hashes{tail}"
        return f"{self.name}  {self.engine}  {self.pins} pins  {self.hashes} hashes  {self.seconds:.1f} s  ({self.reason.value}){tail}"


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
        t0 = time.monotonic()
        if not step.decision.lock:
            build = ""
            if step.item.build_problem:  # the lock is fresh, but the build-deps lock beside it does not fit it
                try:
                    version = version or eng.version()
                    build = _lock_build_deps(project, step, parse(path.read_text(), str(path)), eng, version, cache_dir)
                except AirlockError as exc:
                    res = LockResult(step.name, eng.name, step.decision.reason, False, seconds=time.monotonic() - t0, error=f"build dependencies: {exc}", path=path)
                    results.append(res)
                    report(res)
                    continue
            res = LockResult(step.name, "-", step.decision.reason, False, path=path, build=build, **_counts(path))
            results.append(res)
            report(res)
            continue
        try:
            version = version or eng.version()
            existing = path.read_text() if step.decision.keep_pins else None
            lock = build_lock(step, eng, version, existing=existing, upgrade=plan.upgrade, cache_dir=cache_dir)
            text = render(lock)
            if parse(text, str(path)) != lock:  # the format must carry everything we resolved
                raise EngineFailed("the rendered lock does not parse back to the same pins")
            bl = resolve_build_deps(lock, step.item.target, eng, version, cache_dir=cache_dir)
            atomic_write_text(path, text)
            write_build_lock(project, step.name, bl)
        except AirlockError as exc:
            reason = exc.reason if isinstance(exc, EngineFailed) else str(exc)
            res = LockResult(step.name, eng.name, step.decision.reason, False, seconds=time.monotonic() - t0, error=reason, path=path)
        else:
            res = LockResult(step.name, eng.name, step.decision.reason, True, len(lock.pins), lock.hash_count, time.monotonic() - t0, path=path, build=_describe(bl))
        results.append(res)
        report(res)
    failed = [r for r in results if r.error]
    if failed:
        raise LockFailed([(r.name, r.engine, r.error) for r in failed], sum(1 for r in results if r.written))
    return results


def _lock_build_deps(project: Project, step: LockStep, lock: Lockfile, eng: Engine, version: str, cache_dir: Path | None) -> str:
    bl = resolve_build_deps(lock, step.item.target, eng, version, cache_dir=cache_dir)
    write_build_lock(project, step.name, bl)
    return _describe(bl) or "build-deps lock removed (no pin needs one)"


def _describe(bl: BuildLock | None) -> str:
    if bl is None:
        return ""
    names = ", ".join(f"{s.name}=={s.version}" for s in bl.sdists)
    n = len(bl.lock.pins)
    return f"{n} build {'dependency' if n == 1 else 'dependencies'} for {names} (only an sdist) in {bl.lock.preset}{BUILD_LOCK_SUFFIX}"


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
