"""``inv docs``: regenerate docs/package-versions.md from the presets and locks."""

from __future__ import annotations

from invoke import task

from airlock.cli._boundary import boundary, project


@task(help={"check": "write nothing; exit 1 when docs/package-versions.md is stale"})
@boundary
def docs(c, check=False):  # type: ignore[no-untyped-def]
    """Generate docs/package-versions.md (every package, dependency and source per preset)."""
    from airlock import docs as d
    from airlock.errors import IntegrityError

    proj = project()
    if check:
        if not d.check(proj):
            raise IntegrityError(f"{proj.root / d.DOC} is stale; run: inv docs")
        print(f"{d.DOC} is up to date")
        return
    print(f"wrote {d.write(proj)}")


TASKS = [docs]
