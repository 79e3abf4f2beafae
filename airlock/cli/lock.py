"""``inv lock``: hashed lockfiles for each preset's target, or a check that they are fresh."""

from __future__ import annotations

from invoke import task

from airlock.cli._boundary import boundary, project, split_list

PARTS = ("python", "system")


@task(
    help={
        "preset": "a preset to lock (repeatable, or comma-separated); default: every preset in presets/",
        "engine": "lock engine: uv (default; resolves for any target) or pip-tools (only when the preset's "
        "target Python, CPU and glibc are this interpreter's)",
        "upgrade": "re-resolve from scratch, letting every pin move to the newest allowed version",
        "check": "write nothing; exit 1 naming every missing or stale lock (0 when all are fresh); offline, no engine",
        "only": "python: locks/<preset>.txt (and .build.txt); system: locks/<preset>.system.json, the pinned .debs and "
        "base images (needs the engine and the preset's apt archive); default: both",
    },
    iterable=["preset"],
)
@boundary
def lock(c, preset=None, engine="uv", upgrade=False, check=False, only=""):  # type: ignore[no-untyped-def]
    """Lock each preset's requirements into locks/<preset>.txt and its .debs and base images into locks/<preset>.system.json."""
    from airlock.errors import IntegrityError, InputError
    from airlock.lock import LockFailed, apply_lock, gather, plan_lock
    from airlock.lock.plan import check_problems as python_problems
    from airlock.lock.system import apply_system, check_problems, gather_system

    if check and upgrade:
        raise InputError("--check and --upgrade together: --check writes nothing; drop one of them")
    parts = split_list([only]) if only else list(PARTS)
    bad = [p for p in parts if p not in PARTS]
    if bad or not parts:
        raise InputError(f"--only {only!r}: choose python or system (default: both)")
    proj = project()
    names = split_list(preset or [])
    plan = plan_lock(gather(proj, names), engine=engine, upgrade=upgrade) if "python" in parts else None
    steps = gather_system(proj, names, upgrade=upgrade) if "system" in parts else []
    if check:
        problems = (python_problems(proj, plan) if plan else []) + check_problems(proj, steps)
        total = (len(plan.steps) if plan else 0) + len(steps)
        if problems:
            raise IntegrityError(f"{len(problems)} of {total} locks out of date: " + " | ".join(problems))
        for name in dict.fromkeys([s.name for s in plan.steps] if plan else [s.preset.name for s in steps]):
            print(f"{name}: fresh")
        return
    # both parts run even when one fails; the run ends in one LockFailed naming every failure
    failures, written = [], 0
    if plan is not None:
        try:
            written += sum(1 for r in apply_lock(proj, plan, report=lambda res: print(res.render(), flush=True)) if r.written)
        except LockFailed as exc:
            failures += exc.failures
            written += exc.locked
    if steps:
        try:
            written += apply_system(proj, steps, say=lambda line: print(line, flush=True))
        except LockFailed as exc:
            failures += exc.failures
            written += exc.locked
    if failures:
        raise LockFailed(failures, written)


TASKS = [lock]
