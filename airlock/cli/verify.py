"""``inv verify``: prove stores complete, untouched, covering their locks, and fresh."""

from __future__ import annotations

import sys

from invoke import task

from airlock.cli._boundary import boundary, project, split_list


@task(
    help={
        "preset": "preset to verify (repeatable or comma-separated; default: every preset that has artifacts/)",
        "json": "print the findings as JSON (same exit codes)",
        "jobs": "hashing threads (default: all cores)",
    },
    iterable=["preset"],
)
@boundary
def verify(c, preset=None, json=False, jobs=0):  # type: ignore[no-untyped-def]
    """Check artifacts/<preset>/: sizes, sha256, SHA256SUMS, lock coverage, staleness."""
    from airlock.errors import InputError, IntegrityError
    from airlock.presets import check_name
    from airlock.render import mb
    from airlock.verify import render_json, stores, verify_store

    proj = project()
    names = [check_name(n) for n in split_list(preset or [])] or stores(proj)
    if not names:
        raise InputError(f"{proj.artifacts_root}: no synced preset to verify; run: inv sync --preset <name>")
    reports = [verify_store(proj, n, jobs=jobs) for n in names]
    if json:
        print(render_json(reports))
    else:
        for r in reports:
            for f in r.findings:
                print(f"{r.preset}: {f}", file=sys.stderr)
            for w in r.warnings:
                print(f"{r.preset}: warning: {w}", file=sys.stderr)
            state = "ok" if r.ok else f"{len(r.findings)} problems"
            if r.warnings:
                state += f" ({len(r.warnings)} warnings)"
            print(f"{r.preset}: {r.files} files, {mb(r.bytes)}: {state}")
    bad = [r for r in reports if not r.ok]
    if bad:
        total = sum(len(r.findings) for r in bad)
        first = bad[0].findings[0]
        raise IntegrityError(f"{total} problems in {', '.join(f'artifacts/{r.preset}' for r in bad)} (first: {first})")


TASKS = [verify]
