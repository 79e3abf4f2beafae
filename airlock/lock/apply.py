"""Run the engine for each planned preset, render, write atomically; one LockFailed for all failures."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from airlock.errors import AirlockError
from airlock.fsutil import atomic_write_text
from airlock.lock.engines import DEFAULT_ENGINE, Engine, EngineFailed, LockFailed, engine_for
from airlock.lock.plan import LockPlan, LockStep, Reason, gather, plan_lock
from airlock.lockfile import Lockfile, parse, render
from airlock.project import Project


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
                raise EngineFailed("the rendered lock does not parse back to the same pins")
            atomic_write_text(path, text)
        except AirlockError as exc:
            reason = exc.reason if isinstance(exc, EngineFailed) else str(exc)
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
