"""The build-deps lock (``locks/<preset>.build.txt``): the build dependencies of the pins that ship only an sdist.

Written beside a lock whenever ``inv lock`` writes one (and when an existing one no longer
fits its lock); removed when the lock has no such pin. Which pins those are is read off the
index (no wheel for the target, a locked sdist); each sdist is downloaded, checked against the
lock's sha256, and its ``[build-system] requires`` read (pip's default, setuptools, without
one); their union is resolved by the same engine for the same target. The format and its
checks are in :mod:`airlock.sdist`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from airlock import fetch, sdist, wheels
from airlock.errors import HashMismatch
from airlock.fsutil import atomic_write_text
from airlock.lock.engines import Engine
from airlock.lock.inputs import LockInputs
from airlock.lockfile import Lockfile, Pin
from airlock.project import Project
from airlock.target import Target


def sdist_only(lock: Lockfile, target: Target, jobs: int = 8) -> list[wheels.SdistChoice]:
    """The pins with no wheel for ``target`` but a locked sdist, from the index (pins with neither are left to sync to refuse)."""
    return wheels.sdist_only(lock.pins, (lock.index_url, *lock.extra_index_urls), target, jobs)


def resolve_build_deps(
    lock: Lockfile, target: Target, engine: Engine, engine_version: str, *, cache_dir: Path | None = None, jobs: int = 8
) -> sdist.BuildLock | None:
    """The build-deps lock for ``lock`` (nothing written), or None when every pin has a wheel for the target."""
    chosen = sdist_only(lock, target, jobs)
    if not chosen:
        return None
    entries = []
    with tempfile.TemporaryDirectory(prefix="airlock-sdist-") as tmp:
        for s in chosen:
            where = f"{s.pin.name}=={s.pin.version} ({s.filename})"
            try:
                got = fetch.download(s.url, Path(tmp) / s.filename, s.sha256)
            except HashMismatch as exc:
                raise HashMismatch(f"{where}: the index's file", exc.expected, exc.actual) from None
            requires, _ = sdist.read_sdist(got.path, where)
            entries.append(sdist.SdistEntry(s.pin.name, s.pin.version, s.sha256, requires))
    requirements = tuple(dict.fromkeys(r for e in entries for r in e.requires))
    inputs = LockInputs(
        preset=lock.preset,
        python=target.python_version,
        target=target.label,
        platform=target.label.split()[1],
        requirements=requirements,
        index_url=lock.index_url,
    )
    pins = engine.resolve(inputs, target, cache_dir=cache_dir)
    label = f"preset {lock.preset}"
    pins = tuple(Pin(p.name, p.version, p.hashes, tuple("sdist builds" if v == label else v for v in p.via), p.marker, p.extras) for p in pins)
    return sdist.make_build_lock(lock.preset, engine_version, target.label, lock.index_url, tuple(entries), pins)


def write_build_lock(project: Project, preset: str, bl: sdist.BuildLock | None) -> None:
    """Write ``locks/<preset>.build.txt`` atomically, or remove it when no pin needs one."""
    path = sdist.build_lock_path(project.locks_dir, preset)
    if bl is None:
        path.unlink(missing_ok=True)
        return
    text = sdist.render_build_lock(bl)
    if sdist.parse_build_lock(text, str(path)) != bl:  # the format must carry everything resolved
        raise AssertionError("the rendered build-deps lock does not parse back to the same pins")
    atomic_write_text(path, text)
