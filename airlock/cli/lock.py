"""``inv lock``: hashed lockfiles for each preset's target, or a check that they are fresh."""

from __future__ import annotations

from invoke import task

from airlock.cli._boundary import boundary, project, split_list


@task(
    help={
        "preset": "a preset to lock (repeatable, or comma-separated); default: every preset in presets/",
        "engine": "lock engine: uv (default; resolves for any target) or pip-tools (only when the preset's "
        "target Python, CPU and glibc are this interpreter's)",
        "upgrade": "re-resolve from scratch, letting every pin move to the newest allowed version",
        "check": "write nothing; exit 1 naming every missing or stale lock (0 when all are fresh)",
    },
    iterable=["preset"],
)
@boundary
def lock(c, preset=None, engine="uv", upgrade=False, check=False):  # type: ignore[no-untyped-def]
    """Lock each preset's requirements into locks/<preset>.txt (pinned, hashed, for its target)."""
    from airlock.errors import InputError
    from airlock.lock import apply_lock, check_plan, gather, plan_lock

    if check and upgrade:
        raise InputError("--check and --upgrade together: --check writes nothing; drop one of them")
    proj = project()
    plan = plan_lock(gather(proj, split_list(preset or [])), engine=engine, upgrade=upgrade)
    if check:
        check_plan(proj, plan)
        for step in plan.steps:
            print(f"{step.name}: fresh")
        return
    apply_lock(proj, plan, report=lambda res: print(res.render(), flush=True))


TASKS = [lock]
