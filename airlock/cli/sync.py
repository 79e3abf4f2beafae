"""``inv sync``: fill artifacts/<preset>/ with exactly what one image needs."""

from __future__ import annotations

import time

from invoke import task

from airlock.cli._boundary import boundary, project, split_list
from airlock.presets import load_preset
from airlock.store import writer


@task(
    help={
        "preset": "the preset to sync (its name, as in presets/<name>.json)",
        "only": "comma-separated phases to run: images,debs,wheels,sources,builds (default: all; builds makes wheels of sdist-only pins); the manifest still covers the whole store",
        "jobs": "parallel downloads and hashing threads (default 4)",
        "dry-run": "print the plan (kept, fetched, removed per phase) and change nothing",
    },
    iterable=["only"],
)
@boundary
def sync(c, preset="", only=None, jobs=4, dry_run=False):  # type: ignore[no-untyped-def]
    """Download the preset's wheels, .debs, sources and base images into artifacts/<preset>/."""
    from airlock.errors import InputError
    from airlock.sync import PHASES, apply_sync, check_space, gather_sync, plan_sync, render_summary

    if not preset:
        raise InputError("--preset is required (see: inv presets)")
    phases = tuple(split_list(only or [])) or PHASES
    proj = project()
    p = load_preset(proj, preset)
    t0 = time.monotonic()
    # One writer: the store is held from the plan to the index, so nothing else reads it half-written.
    with writer.hold(proj.artifacts(p.name), exclusive=not dry_run, doing="run inv sync"):
        plan = plan_sync(gather_sync(proj, p, phases, jobs=jobs))
        if dry_run:
            print(plan.render())
            return
        check_space(plan, proj.artifacts(p.name))
        results = apply_sync(proj, p, plan, jobs=jobs)
    print(render_summary(results, time.monotonic() - t0))
    print(f"downloaded {sum(r.downloaded for r in results.values())} bytes")
    print(f"artifacts/{p.name}: manifest.json and SHA256SUMS written; check with: inv verify --preset {p.name}")


TASKS = [sync]
