"""The system part of ``inv lock``: pin each stage's base and resolve its .deb set (needs the engine).

Gather (read each preset's system lock), decide with :func:`airlock.lock.plan.decide` (the same
table as the Python lock: missing, unreadable, stale, ``--upgrade`` re-lock; fresh is kept), apply:
per stage make the base exactly as ``inv sync`` does (:func:`airlock.images.for_resolving`: the
engine's image, else the store's tarball, else debootstrap or pull), then in one container of it
read ``var/lib/dpkg/status``, ``apt-get update``, and ask apt for the set without downloading
(``apt-get install -s`` for versions and origins, ``--print-uris`` for URL, size and SHA256).
Resolution stays inside the preset's own base. The file format is :mod:`airlock.syslock`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from airlock import debs, docker, images, syslock
from airlock.errors import AirlockError, InputError
from airlock.lock.engines import LockFailed
from airlock.lock.plan import INVALID, MISSING, Decision, decide
from airlock.presets import Preset, load_preset, preset_names
from airlock.project import Project

# Positional args ("$@") are the package names: no user data is spliced into the script.
_RESOLVE = r"""
set -eu
export DEBIAN_FRONTEND=noninteractive
echo '#airlock:status'
cat /var/lib/dpkg/status
apt-get update -qq >/dev/null
mkdir -p /tmp/airlock-empty/partial
echo '#airlock:sim'
[ $# -eq 0 ] || apt-get install -s --no-install-recommends -o Dir::Cache::archives=/tmp/airlock-empty/ "$@"
echo '#airlock:uris'
[ $# -eq 0 ] || apt-get install --print-uris -qq --no-install-recommends -o Acquire::ForceHash=SHA256 -o Dir::Cache::archives=/tmp/airlock-empty/ "$@"
"""


def _sections(out: str) -> dict[str, str]:
    got: dict[str, list[str]] = {}
    cur = None
    for line in out.splitlines():
        if line.startswith("#airlock:"):
            cur = line.removeprefix("#airlock:").strip()
            got[cur] = []
        elif cur is not None:
            got[cur].append(line)
    return {k: "\n".join(v) + "\n" for k, v in got.items()}


def base_pin(img: images.BaseImage, status: str) -> syslock.BasePin:
    """The pin of a base now in the engine: a pulled image's digest and id, a bootstrap's spec; both with the installed set."""
    bs = img.base.bootstrap
    if bs is None:
        # the id decides; the installed set tells sync which of the stage's packages the base already has
        return syslock.BasePin(ref=img.ref, digest=images.repo_digest(img.ref), image_id=docker.image_id(img.ref), installed=syslock.parse_status(status))
    return syslock.BasePin(
        ref=img.ref, suite=bs.suite, mirror=bs.mirror, variant=bs.variant, components=bs.components, suites=bs.suites,
        keyring_sha256=bs.keyring.sha256 if bs.keyring else None, installed=syslock.parse_status(status),
    )  # fmt: skip


def resolve_stage(project: Project, preset: Preset, stage: str) -> syslock.StageLock:
    img = images.base_image(preset, stage)
    images.for_resolving(img, project.artifacts(preset.name), preset.platform)
    packages = debs.stage_packages(preset, stage)
    out = docker.container_run(img.ref, ["sh", "-c", _RESOLVE, "sh", *packages], platform=preset.platform)
    sec = _sections(out)
    where = f"{preset.name}: {stage} in {img.ref}"
    return syslock.StageLock(
        base=base_pin(img, sec.get("status", "")),
        packages=packages,
        debs=syslock.stage_debs(sec.get("sim", ""), sec.get("uris", ""), where),
    )


def resolve(project: Project, preset: Preset) -> syslock.SystemLock:
    stages = {stage: resolve_stage(project, preset, stage) for stage in syslock.STAGES}
    return syslock.SystemLock(
        schema=syslock.SCHEMA, preset=preset.name, platform=preset.platform, inputs=syslock.input_digest(preset),
        locked=syslock.now(), stages=stages,  # type: ignore[arg-type]
    )  # fmt: skip


@dataclass(frozen=True)
class SystemStep:
    preset: Preset
    decision: Decision
    problem: str = ""  # why the existing file cannot be read


def gather_system(project: Project, names: Sequence[str], *, upgrade: bool = False) -> list[SystemStep]:
    """Read each preset's system lock (missing, unreadable, or its digest) and decide (pure :func:`decide`) whether to lock it."""
    chosen = list(dict.fromkeys(names)) or preset_names(project)
    if not chosen:
        raise InputError(f"{project.presets_dir}: no presets")
    return [_step(project, load_preset(project, name), upgrade) for name in chosen]


def _step(project: Project, preset: Preset, upgrade: bool) -> SystemStep:
    path = syslock.lock_path(project.locks_dir, preset.name)
    problem = ""
    try:
        lock = syslock.read(path)
        existing = MISSING if lock is None else (lock.inputs if lock.preset == preset.name else INVALID)
    except InputError as exc:
        existing, problem = INVALID, str(exc)
    return SystemStep(preset, decide(existing, syslock.input_digest(preset), upgrade), problem)


def check_problems(project: Project, steps: Sequence[SystemStep]) -> list[str]:
    """``--check``: one item per system lock that is missing, unreadable or stale (offline, no engine)."""
    return [
        why for s in steps
        if (why := syslock.problem(syslock.lock_path(project.locks_dir, s.preset.name), f"locks/{s.preset.name}{syslock.SUFFIX}", s.preset))
    ]  # fmt: skip


def apply_system(project: Project, steps: Sequence[SystemStep], *, say: Callable[[str], None] = print) -> int:
    """Lock each preset the steps say to; a failure leaves its file untouched and the others are still locked.

    Returns how many files were written; raises :class:`LockFailed` (exit 3) naming each failure.
    """
    failures: list[tuple[str, str, str]] = []
    written = 0
    for s in steps:
        rel = f"locks/{s.preset.name}{syslock.SUFFIX}"
        if not s.decision.lock:
            say(f"{s.preset.name}  system  fresh, kept  {rel}")
            continue
        t0 = time.monotonic()
        try:
            lock = resolve(project, s.preset)
            changed = syslock.write(syslock.lock_path(project.locks_dir, s.preset.name), lock)
        except AirlockError as exc:
            failures.append((s.preset.name, "system", str(exc)))
            say(f"{s.preset.name}  system  FAILED ({s.decision.reason.value})  {exc}")
            continue
        written += 1
        n = {st: len(lock.stage(st).debs) for st in syslock.STAGES}
        what = "written" if changed else "unchanged"
        say(f"{s.preset.name}  system  {n['builder']} builder + {n['runtime']} runtime .debs  {time.monotonic() - t0:.1f} s  ({s.decision.reason.value}; {rel} {what})")
    if failures:
        raise LockFailed(failures, written)
    return written
