"""``inv sync``: fill ``artifacts/<preset>/`` with exactly what one image needs.

Gather, plan, apply. :func:`gather_sync` does all the I/O a decision needs (walks and
hashes the store, asks the engine for base image ids, lists the index for wheels);
:func:`plan_sync` decides from those facts alone, per phase what is kept, fetched and
removed (``--dry-run`` prints that); :func:`apply_sync` carries it out and writes ``manifest.json`` and
``SHA256SUMS`` atomically at the end, over every file in the store.

Phases (``--only`` picks some; the manifest still covers the whole store):

images   the preset's base images saved with ``docker save`` (bootstrapped locally
         with debootstrap when the preset asks for it); a base made here must be the
         system lock's pin
debs     per stage, exactly the .debs ``locks/<preset>.system.json`` pins, each asked of apt
         as ``name=version`` in a container of that base and checked against the lock
         (needs ``images``' bases in the engine; :mod:`airlock.syslock`)
wheels   one wheel per pin for the target, hash-checked against the lock
sources  FFmpeg/OpenCV/TensorRT archives, hash-checked against the preset
builds   each pin that ships only an sdist, built into a wheel for the target in the
         preset's builder base with its locked build dependencies, no network
         (needs ``images``' builder base and ``debs``' builder set; :mod:`airlock.sdist`)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from airlock import __version__, debs, docker, fetch, images, lockfile, progress, render, sdist, syslock, wheels
from airlock.errors import CommandError, ExternalError, HashMismatch, InputError, IntegrityError
from airlock.fsutil import atomic_write_text, sha256_bytes, sha256_file
from airlock.lock.inputs import check_fresh
from airlock.presets import Preset
from airlock.project import Project
from airlock.store import layout, manifest
from airlock.target import Target

PHASES = layout.SYNCED  # images, debs, wheels, sources, builds: one phase per folder sync fills (not prebuilt/)


@dataclass(frozen=True)
class SdistJob:
    """A pin to build from its sdist; ``expect``: the sha256 its record says the same inputs gave (a rebuild must match)."""

    choice: wheels.SdistChoice
    expect: str | None = None


@dataclass
class PhasePlan:
    keep: list[str] = field(default_factory=list)  # store-relative paths kept as they are
    fetch: list[str] = field(default_factory=list)  # what will be fetched/made (descriptions)
    remove: list[str] = field(default_factory=list)  # store-relative paths no longer wanted


@dataclass
class SyncPlan:
    preset: str
    phases: dict[str, PhasePlan]
    wheel_choices: list[wheels.WheelChoice]
    debs_todo: list[str]  # stages to resolve
    images_todo: list[str]  # base refs to save
    sources_todo: list[str]  # filenames to download
    known: dict[str, str]  # path -> sha256 of files that are intact now
    sdist_jobs: list[SdistJob] = field(default_factory=list)
    build_dep_choices: list[wheels.WheelChoice] = field(default_factory=list)
    build_lock: sdist.BuildLock | None = None
    #: records of built wheels that stay (current, or to be reproduced)
    records: list[sdist.Provenance] = field(default_factory=list)
    #: what the images and debs phases fetch exactly (None when neither runs)
    system_lock: syslock.SystemLock | None = None

    def render(self) -> str:
        out = [f"sync plan for {self.preset}:"]
        for name, ph in self.phases.items():
            out.append(f"  {name:8} keep {len(ph.keep):4}  fetch {len(ph.fetch):4}  remove {len(ph.remove):4}")
            out += [f"      + {f}" for f in ph.fetch]
            out += [f"      - {f}" for f in ph.remove]
        return "\n".join(out)

    @property
    def noop(self) -> bool:
        return not any(ph.fetch or ph.remove for ph in self.phases.values())

    @property
    def fetch_bytes(self) -> int:
        """At most this many bytes of wheels and .debs will be written (sizes the index and the system lock give;
        base tarballs, sources and built wheels come on top)."""
        n = sum(c.size or 0 for c in (*self.wheel_choices, *self.build_dep_choices))
        if self.system_lock is not None:
            n += sum(d.size for stage in self.debs_todo for d in self.system_lock.stage(stage).debs)
        return n


#: what a sync keeps free beside what it writes (apt's lists, the index, a base tarball of ~100 MB)
SPARE_BYTES = 512 * 1024 * 1024


def check_space(plan: SyncPlan, store: Path, free: Callable[[Path], int] = lambda p: shutil.disk_usage(p).free) -> None:
    """Refuse, before anything is written, a sync that cannot fit on the store's disk (ExternalError, one line)."""
    where = next(p for p in (store, *store.parents) if p.exists())  # the nearest folder that exists: its disk
    need, have = plan.fetch_bytes + SPARE_BYTES, free(where)
    if need > have:
        raise ExternalError(
            f"artifacts/{plan.preset}: this sync writes up to {progress.mb(plan.fetch_bytes)} of wheels and .debs and needs "
            f"{progress.mb(SPARE_BYTES)} spare, but its disk has {progress.mb(have)} free; free space there, or make "
            "artifacts/ a symlink to a bigger disk"
        )


@dataclass
class PhaseResult:
    files: int = 0
    bytes: int = 0
    reused: int = 0
    downloaded: int = 0
    seconds: float = 0.0


# -------------------------------------------------------------------- helpers


def _deb_inputs(preset: Preset, stage: str, base_id: str) -> str:
    return json.dumps(
        {"base": base_id, "packages": list(debs.stage_packages(preset, stage)), "platform": preset.platform},
        indent=2,
        sort_keys=True,
    ) + "\n"


def _intact(store: Path, listing: layout.Listing, jobs: int) -> dict[str, str]:
    """sha256 of every file now in the store that the previous manifest vouches for.

    A file whose hash no longer matches its manifest entry is left out, so the
    plan fetches it again. Only entries the manifest parser trusts (confined paths) and
    only regular files the walk found (no symlink followed) count.
    """
    try:
        man = manifest.read_manifest(store)
    except (InputError, FileNotFoundError):
        return {}
    listed = {e.path: e for e in man.entries}
    paths = [listing.files[p] for p, e in listed.items() if p in listing.files and listing.files[p].stat().st_size == e.size]
    got = manifest.hash_files(paths, jobs=jobs)
    out = {}
    for path, sha in got.items():
        rel = Path(path).relative_to(store).as_posix()
        if listed[rel].sha256 == sha:
            out[rel] = sha
    return out


def _adoptable(
    store: Path, listing: layout.Listing, lock: lockfile.Lockfile, preset: Preset, known: dict[str, str], jobs: int
) -> dict[str, str]:
    """Wheels and sources on disk but not vouched for by a manifest (e.g. it was lost)
    whose sha256 is the one the lock or the preset expects: kept instead of re-fetched."""
    wanted = {h for p in lock.pins for h in p.hashes} | {src.sha256 for src in preset.sources}
    cand = [p for rel, p in listing.files.items()
            if rel.count("/") == 1 and layout.folder_of(rel) in (layout.WHEELS, layout.SOURCES) and rel not in known]
    got = manifest.hash_files(cand, jobs=jobs)
    return {Path(k).relative_to(store).as_posix(): v for k, v in got.items() if v in wanted}


def _base_id(img: images.BaseImage, store: Path) -> str | None:
    got = docker.image_id(img.ref)
    if got:
        return got
    tar = store / layout.image(img.tar_name)
    return images.image_id_from_tar(tar) if tar.is_file() and not tar.is_symlink() else None


# ----------------------------------------------------------------------- gather


@dataclass(frozen=True)
class SyncFacts:
    """Everything :func:`plan_sync` decides on, gathered in one I/O step by :func:`gather_sync`."""

    preset: Preset
    lock: lockfile.Lockfile
    target: Target
    only: tuple[str, ...]
    #: store path -> sha256 of files whose bytes the previous index vouches for (or that the lock or preset expects)
    known: dict[str, str]
    #: folder -> files there no index vouches for, and strays there (symlinks, odd names): to remove
    unlisted: dict[str, list[str]]
    #: one wheel per pin that lacks a usable present wheel, from the index (empty when wheels do not run)
    wheel_choices: list[wheels.WheelChoice]
    #: stage -> text of debs/<stage>/inputs.json when the index vouches for it
    deb_inputs: dict[str, str | None]
    #: stage -> the stage's Packages is intact and every .deb it names is intact
    deb_complete: dict[str, bool]
    #: stage -> the base image's id (the engine's, else the saved tarball's), None when neither has it
    base_ids: dict[str, str | None] = field(default_factory=dict)
    #: locks/<preset>.build.txt (None when absent), its sha256, and why it does not fit the lock
    build_lock: sdist.BuildLock | None = None
    build_lock_sha256: str | None = None
    build_lock_problems: tuple[str, ...] = ()
    #: builds/*.provenance.json the index vouches for -> the record, or why it cannot be read
    records: dict[str, sdist.Provenance | str] = field(default_factory=dict)
    #: pins with no wheel for the target whose locked sdist must be built (empty when builds do not run)
    sdist_choices: list[wheels.SdistChoice] = field(default_factory=list)
    #: the build dependencies' wheels for the target (listed only when something is to be built)
    build_dep_choices: list[wheels.WheelChoice] = field(default_factory=list)
    #: locks/<preset>.system.json, fresh (None only when neither images nor debs run)
    system_lock: syslock.SystemLock | None = None
    #: stage -> file name -> sha256 of the .debs its intact Packages names
    deb_index: dict[str, dict[str, str]] = field(default_factory=dict)

    def build_inputs(self) -> sdist.BuildInputs:
        return sdist.BuildInputs(self.build_lock_sha256, self.base_ids.get("builder"), self.known.get(layout.deb_packages("builder")), self.target.label)


def gather_sync(project: Project, preset: Preset, only: tuple[str, ...] = PHASES, jobs: int = 4) -> SyncFacts:
    """All the I/O a sync decision needs: the lock, the store (walked, hashed), the engine, the index."""
    bad = [o for o in only if o not in PHASES]
    if bad:
        raise InputError(f"--only {','.join(bad)}: choose from {','.join(PHASES)}")
    store = project.artifacts(preset.name)
    lock = lockfile.read(project.lock_path(preset.name))
    check_fresh(project, preset, lock)
    system_lock = syslock.require(project.locks_dir, preset) if layout.IMAGES in only or layout.DEBS in only else None
    target = Target.for_preset(preset)
    listing = layout.walk(store)
    known = _intact(store, listing, jobs)
    known.update(_adoptable(store, listing, lock, preset, known, jobs))
    bl_path = sdist.build_lock_path(project.locks_dir, preset.name)
    build_lock = sdist.read_build_lock(bl_path)
    bl_rel = bl_path.relative_to(project.root).as_posix()
    build_problems = tuple(sdist.check_build_lock(build_lock, lock, bl_rel)) if build_lock else ()
    records = sdist.read_records({rel: (store / rel).read_text(errors="replace") for rel in known if layout.folder_of(rel) == layout.BUILDS and rel.endswith(layout.PROVENANCE)})
    base_ids: dict[str, str | None] = {stage: _base_id(images.base_image(preset, stage), store) for stage in images.STAGES}
    inputs = sdist.BuildInputs(sha256_file(bl_path) if build_lock else None, base_ids["builder"], known.get(layout.deb_packages("builder")), target.label)
    # wheels first, so a pin without a wheel (or sdist) for the target is reported before anything else;
    # a pin whose built wheel is current is not asked about
    choices: list[wheels.WheelChoice] = []
    sdist_choices: list[wheels.SdistChoice] = []
    dep_choices: list[wheels.WheelChoice] = []
    if layout.WHEELS in only or layout.BUILDS in only:
        built = {rec.key for rec in records.values() if isinstance(rec, sdist.Provenance) and _record_state(rec, lock, inputs, known) == sdist.CURRENT}
        present = {Path(p).name: s for p, s in known.items() if layout.folder_of(p) == layout.WHEELS}
        todo = lockfile.Lockfile(lock.preset, lock.engine, lock.target, lock.input_digest, lock.index_url, lock.extra_index_urls, tuple(p for p in lock.pins if p.key not in built))
        choices, _, sdist_choices = wheels.plan_with_sdists(todo, target, present, jobs=max(jobs, 8))
        choices = choices if layout.WHEELS in only else []
        sdist_choices = sdist_choices if layout.BUILDS in only else []
        if sdist_choices and build_lock is not None and not build_problems:
            try:
                dep_choices, _ = wheels.plan(build_lock.lock, target, {}, jobs=max(jobs, 8))
            except IntegrityError as exc:
                raise IntegrityError(f"{bl_rel}: a build dependency: {exc}") from None
    deb_inputs: dict[str, str | None] = {}
    deb_complete: dict[str, bool] = {}
    deb_index: dict[str, dict[str, str]] = {}
    for stage in images.STAGES:
        rel = layout.deb_inputs(stage)
        deb_inputs[stage] = (store / rel).read_text(errors="replace") if rel in known else None
        deb_complete[stage] = layout.deb_packages(stage) in known and _packages_complete(store, stage, known)
        if layout.deb_packages(stage) in known:
            paras = debs.parse_packages((store / layout.deb_packages(stage)).read_text(errors="replace"))
            deb_index[stage] = {p.get("Filename", "").removeprefix("./"): p.get("SHA256", "") for p in paras}
    unlisted = {folder: _unlisted(listing, folder, known) for folder in layout.FOLDERS}
    return SyncFacts(
        preset, lock, target, tuple(only), known, unlisted, choices, deb_inputs, deb_complete, base_ids,
        build_lock, inputs.build_lock_sha256, build_problems, records, sdist_choices, dep_choices, system_lock, deb_index,
    )  # fmt: skip


def _record_state(rec: sdist.Provenance, lock: lockfile.Lockfile, inputs: sdist.BuildInputs, known: dict[str, str]) -> str:
    return sdist.record_state(rec, lock.by_key().get(rec.key), inputs, known.get(layout.wheel(rec.wheel_filename)))


# ----------------------------------------------------------------------- plan


def plan_sync(facts: SyncFacts) -> SyncPlan:
    """What ``inv sync`` will do, decided from ``facts`` alone (pure: no I/O).

    Per phase (images, sources: one file per base image / pinned archive; wheels: one per pin):

    ====================================================  ================  ===========================
    the store holds                                       phase in --only   decision
    ====================================================  ================  ===========================
    the wanted file, intact                               either            keep
    the wanted file missing or not intact                 yes               fetch (make, download)
    the wanted file missing or not intact                 no                nothing (verify reports it)
    an intact file that is no longer wanted               either            remove
    a file no index vouches for, or a stray, in a folder  either            remove (``*.part``: kept)
    wheels: a present wheel of the pin, best for target   either            keep (others of the pin: remove)
    debs, per stage: inputs.json equals the preset's
      packages, platform and base id, Packages and
      every .deb it names intact, and Packages names
      exactly the system lock's .debs (file, sha256)      either            keep the stage's files
    debs, per stage: anything else                        yes               resolve the stage again
    debs, per stage: anything else                        no                keep what is there
    debs: a file outside debs/builder, debs/runtime       either            remove
    builds: a pin with only an sdist, no current wheel    yes               build it (refused first when
                                                                            the build-deps lock is absent,
                                                                            does not fit the lock or lacks
                                                                            the pin)
    builds: a record that is current (sdist, build deps,
      builder base and .debs, target the same; the
      wheel intact)                                       either            keep it, its sdist and wheel
    builds: same inputs, the wheel missing or altered     yes               build again; the new wheel
                                                                            must have the recorded sha256
    builds: a record of other inputs, or unreadable       either            remove (a new one is written)
    builds: install-lock.txt                              either            keep; rewritten when it is not
                                                                            the lock with the records' hashes
    ====================================================  ================  ===========================
    """
    preset, known, only = facts.preset, facts.known, facts.only
    phases = {p: PhasePlan() for p in PHASES}

    builds = _plan_builds(facts, phases[layout.BUILDS])
    present_wheels = {p: s for p, s in known.items() if layout.folder_of(p) == layout.WHEELS}
    wanted_wheels = _wanted_wheels(facts.lock, facts.target, present_wheels, facts.wheel_choices)
    wanted_wheels |= {layout.wheel(r.wheel_filename) for r in builds.records if known.get(layout.wheel(r.wheel_filename)) == r.wheel_sha256}
    for p in sorted(present_wheels):
        (phases[layout.WHEELS].keep if p in wanted_wheels else phases[layout.WHEELS].remove).append(p)
    phases[layout.WHEELS].fetch += [layout.wheel(c.filename) for c in facts.wheel_choices]
    phases[layout.WHEELS].remove += facts.unlisted.get(layout.WHEELS, [])

    images_todo = _plan_files(
        layout.IMAGES,
        [(layout.image(img.tar_name), layout.image(img.tar_name) in known, img.ref, f"{'debootstrap' if img.bootstrapped else 'docker save'} {img.ref}") for img in images.base_images(preset)],
        phases[layout.IMAGES], facts.unlisted.get(layout.IMAGES, []), known, only,
    )

    debs_todo: list[str] = []
    for stage in images.STAGES:
        img = images.base_image(preset, stage)
        stage_files = sorted(k for k in known if k.startswith(layout.deb_dir(stage) + "/"))
        wanted_inputs = _deb_inputs(preset, stage, facts.base_ids.get(stage) or "unknown")
        locked = facts.system_lock is None or facts.deb_index.get(stage) == {d.filename: d.sha256 for d in facts.system_lock.stage(stage).debs}
        if facts.deb_inputs.get(stage) == wanted_inputs and facts.deb_complete.get(stage, False) and locked:
            phases[layout.DEBS].keep += stage_files
        elif layout.DEBS in only:
            debs_todo.append(stage)
            n = f"{len(facts.system_lock.stage(stage).debs)} locked .debs" if facts.system_lock else " ".join(debs.stage_packages(preset, stage))
            phases[layout.DEBS].fetch.append(f"{layout.deb_dir(stage)}/ (apt in {img.ref}: {n})")
        else:
            phases[layout.DEBS].keep += stage_files
    phases[layout.DEBS].remove += sorted(k for k in known if layout.folder_of(k) == layout.DEBS and k.split("/")[1] not in images.STAGES)
    phases[layout.DEBS].remove += facts.unlisted.get(layout.DEBS, [])

    sources_todo = _plan_files(
        layout.SOURCES,
        [(layout.source(src.filename), known.get(layout.source(src.filename)) == src.sha256, src.filename, src.url) for src in preset.sources],
        phases[layout.SOURCES], facts.unlisted.get(layout.SOURCES, []), known, only,
    )

    return SyncPlan(
        preset.name, phases, list(facts.wheel_choices), debs_todo, images_todo, sources_todo, dict(known),
        builds.jobs, builds.dep_choices, facts.build_lock, builds.records, facts.system_lock,
    )  # fmt: skip


@dataclass
class _Builds:
    jobs: list[SdistJob]
    dep_choices: list[wheels.WheelChoice]
    records: list[sdist.Provenance]


def _plan_builds(facts: SyncFacts, plan: PhasePlan) -> _Builds:
    """The builds/ rows of :func:`plan_sync`'s table; raises IntegrityError when a pin cannot be built."""
    lock, known = facts.lock, facts.known
    name = facts.preset.name
    bl_rel = f"locks/{name}{sdist.BUILD_LOCK_SUFFIX}"
    inputs = facts.build_inputs()
    states = {rel: sdist.record_state(r, lock.by_key().get(r.key), inputs, known.get(layout.wheel(r.wheel_filename)))
              for rel, r in facts.records.items() if isinstance(r, sdist.Provenance)}  # fmt: skip
    jobs: list[SdistJob] = []
    if facts.sdist_choices:
        names = ", ".join(f"{c.pin.name}=={c.pin.version}" for c in facts.sdist_choices)
        if facts.build_lock is None:
            raise IntegrityError(
                f"{names}: only an sdist for {facts.target.label}, and {bl_rel} (the build dependencies) is absent; "
                f"restore it from git, or run: inv lock --preset {name} --upgrade"
            )
        if facts.build_lock_problems:
            raise IntegrityError(f"refusing to build {names}: " + " | ".join(facts.build_lock_problems))
        for c in facts.sdist_choices:
            if facts.build_lock.sdist_for(c.pin) is None:
                raise IntegrityError(f"{bl_rel} does not lock the build of {c.pin.name}=={c.pin.version} (sdist sha256 {c.sha256[:12]}…); run: inv lock --preset {name}")
            expect = next((r.wheel_sha256 for rel, r in facts.records.items() if isinstance(r, sdist.Provenance) and r.key == c.pin.key and states[rel] == sdist.REPRODUCE), None)
            jobs.append(SdistJob(c, expect))
            again = f"; must reproduce sha256 {expect[:12]}…" if expect else ""
            plan.fetch.append(f"build {c.pin.name}=={c.pin.version} from {layout.sdist(c.filename)} in the builder base, no network{again}")
    keep_records = [r for rel, r in facts.records.items() if isinstance(r, sdist.Provenance) and states[rel] != sdist.STALE]
    wanted = {r.rel for r in keep_records} | {layout.sdist(r.sdist_filename) for r in keep_records}
    wanted |= {layout.sdist(c.filename) for c in facts.sdist_choices}
    if keep_records or jobs:
        wanted.add(layout.install_lock())
    for rel in sorted(k for k in known if layout.folder_of(k) == layout.BUILDS):
        (plan.keep if rel in wanted else plan.remove).append(rel)
    plan.remove += facts.unlisted.get(layout.BUILDS, [])
    return _Builds(jobs, list(facts.build_dep_choices) if jobs else [], keep_records)


def _plan_files(
    phase: str, wanted: list[tuple[str, bool, str, str]], plan: PhasePlan, unlisted: list[str], known: dict[str, str], only: tuple[str, ...]
) -> list[str]:
    """Keep the intact wanted files, fetch the others when ``phase`` runs, remove the unwanted.

    ``wanted`` holds (store-relative path, intact now, key to fetch it by, origin shown in the plan);
    returns the keys to fetch.
    """
    todo = []
    for rel, intact, key, origin in wanted:
        if intact:
            plan.keep.append(rel)
        elif phase in only:
            todo.append(key)
            plan.fetch.append(f"{rel} ({origin})")
    names = {w[0] for w in wanted}
    plan.remove += sorted(k for k in known if layout.folder_of(k) == phase and k not in names) + unlisted
    return todo


def _wanted_wheels(lock: lockfile.Lockfile, target: Target, present: dict[str, str], choices: list[wheels.WheelChoice]) -> set[str]:
    """Present wheels to keep: for each pin, the best present wheel (if no new one is chosen)."""
    chosen = {c.pin.key for c in choices}
    keep: set[str] = set()
    for pin in lock.pins:
        if pin.key in chosen:
            continue
        best: tuple[int, str] | None = None
        for rel, sha in present.items():
            fn = Path(rel).name
            if sha not in pin.hashes:
                continue
            rank = wheels.wheel_rank(fn, target)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, rel)
        if best:
            keep.add(best[1])
    return keep


def _unlisted(listing: layout.Listing, folder: str, known: dict[str, str]) -> list[str]:
    """Files in ``folder`` no manifest vouches for, and strays there (a symlink is removed, never followed).

    A ``*.part`` is an interrupted download: kept so the next fetch resumes it. Strays at
    the store's root are not sync's to remove; verify reports them.
    """
    files = [rel for rel in listing.files if layout.folder_of(rel) == folder and rel not in known]
    strays = [rel for rel, _ in listing.strays if layout.folder_of(rel) == folder]
    return sorted(files + strays)


def _packages_complete(store: Path, stage: str, known: dict[str, str]) -> bool:
    text = (store / layout.deb_packages(stage)).read_text(errors="replace")
    for para in debs.parse_packages(text):
        rel = layout.deb_file(stage, para.get("Filename", ""))
        if known.get(rel) != para.get("SHA256"):
            return False
    return True


# ---------------------------------------------------------------------- apply


def apply_sync(
    project: Project,
    preset: Preset,
    plan: SyncPlan,
    *,
    jobs: int = 4,
    say: Callable[[str], None] = print,
) -> dict[str, PhaseResult]:
    store = project.artifacts(preset.name)
    store.mkdir(parents=True, exist_ok=True)
    results = {p: PhaseResult() for p in PHASES}
    origins: dict[str, tuple[str, str, str]] = {}  # rel -> (kind, origin, version)
    known = dict(plan.known)  # hashes still true; anything rewritten below is dropped

    for phase in PHASES:
        for rel in plan.phases[phase].remove:
            (store / rel).unlink(missing_ok=True)  # a symlink is unlinked itself, never followed
            say(f"{phase:8} removed {layout.printable(rel)}")

    # images
    t0 = time.monotonic()
    (store / layout.IMAGES).mkdir(exist_ok=True)
    for img in images.base_images(preset):
        rel = layout.image(img.tar_name)
        if img.ref in plan.images_todo:
            how = "save" if docker.image_exists(img.ref) else ("debootstrap + save" if img.bootstrapped else "pull + save")
            say(f"images   {how} {img.ref}")
            images.make_available(img, preset.platform)
            known.pop(rel, None)
            images.save(img, store / rel)
            if plan.system_lock is not None:
                try:
                    _check_base(preset.name, img, plan.system_lock, images.dpkg_status_from_tar(store / rel))
                except IntegrityError:
                    (store / rel).unlink()  # not the pinned base: never left in the store, indexed or not
                    raise
            results["images"].downloaded += (store / rel).stat().st_size
            say(f"images   {rel}: {progress.mb((store / rel).stat().st_size)}")
        origins[rel] = ("image", f"bootstrap {img.base.bootstrap.suite} {img.base.bootstrap.mirror}" if img.base.bootstrap else f"registry {img.ref}", img.ref)
    results["images"].seconds = time.monotonic() - t0

    # debs
    t0 = time.monotonic()
    for stage in images.STAGES:
        img = images.base_image(preset, stage)
        if stage in plan.debs_todo:
            # Resolve against the base the build will load: the saved tarball first; making the
            # base anew (pull, debootstrap) only where the store has none.
            base_id = images.for_resolving(img, store, preset.platform)
            say(f"debs     resolving {stage} set in {img.ref}")
            for rel in [k for k in known if k.startswith(layout.deb_dir(stage) + "/")]:
                known.pop(rel)
            got, n = _fetch_locked(preset, stage, img, plan.system_lock, store / layout.deb_dir(stage))
            atomic_write_text(store / layout.deb_inputs(stage), _deb_inputs(preset, stage, base_id))
            results["debs"].downloaded += n
            say(f"debs     {stage}: {len(got)} packages, {progress.mb(sum(d.size for d in got))}, {progress.mb(n)} fetched")
        packages = store / layout.deb_packages(stage)
        if packages.is_file():
            for para in debs.parse_packages(packages.read_text(errors="replace")):
                rel = layout.deb_file(stage, para.get("Filename", ""))
                origins[rel] = ("deb", f"{para.get('Package', '')} from {img.ref}'s apt sources", para.get("Version", ""))
            origins[layout.deb_packages(stage)] = ("deb-index", "written by inv sync", "")
            origins[layout.deb_inputs(stage)] = ("other", "inputs of the deb resolution", "")
    results["debs"].seconds = time.monotonic() - t0

    # wheels
    t0 = time.monotonic()
    (store / layout.WHEELS).mkdir(exist_ok=True)
    if plan.wheel_choices:
        choices = plan.wheel_choices
        sizes = [c.size for c in choices]
        total = None if None in sizes else sum(s or 0 for s in sizes) - sum(_part_size(store / layout.wheel(c.filename)) for c in choices)
        say(f"wheels   downloading {len(choices)} wheels ({jobs} at a time{', ' + progress.mb(total) if total is not None else ''})")
        with progress.Transfer("wheels", len(choices), total, say=say) as tr:

            def _get(c: wheels.WheelChoice) -> int:
                res = fetch.download(c.url, store / layout.wheel(c.filename), c.sha256, progress=tr.advance)
                known[layout.wheel(c.filename)] = c.sha256  # download() checked it; the index need not hash it again
                tr.done(c.filename, res.path.stat().st_size)
                return res.bytes_downloaded

            with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
                results["wheels"].downloaded += sum(pool.map(_get, choices))
    lock = lockfile.read(project.lock_path(preset.name))
    by_hash = {h: p for p in lock.pins for h in p.hashes}
    for f in sorted((store / layout.WHEELS).glob("*.whl")):
        rel = layout.wheel(f.name)
        sha = known.get(rel)
        pin = by_hash.get(sha or "")
        origins[rel] = ("wheel", f"{lock.index_url} {pin.name}=={pin.version}" if pin else "unknown", pin.version if pin else "")
    results["wheels"].seconds = time.monotonic() - t0

    # sources
    t0 = time.monotonic()
    (store / layout.SOURCES).mkdir(exist_ok=True)
    todo = [src for src in preset.sources if src.filename in plan.sources_todo]
    with progress.Transfer("sources", len(todo), None, say=say) if todo else contextlib.nullcontext() as tr:
        for src in todo:
            say(f"sources  downloading {src.url}")
            rel = layout.source(src.filename)
            known.pop(rel, None)
            res = fetch.download(src.url, store / rel, src.sha256, progress=tr.advance)
            known[rel] = src.sha256
            tr.done(src.filename, res.path.stat().st_size)
            results["sources"].downloaded += res.bytes_downloaded
    for src in preset.sources:
        origins[layout.source(src.filename)] = ("source", src.url, src.version)
    results["sources"].seconds = time.monotonic() - t0

    # builds (last: they need the builder base and the builder .deb set)
    t0 = time.monotonic()
    (store / layout.BUILDS).mkdir(exist_ok=True)
    records = list(plan.records)
    if plan.sdist_jobs:
        new, fetched = _build_sdists(project, preset, plan, store, known, say)
        records = [r for r in records if r.key not in {n.key for n in new}] + new
        results["builds"].downloaded += fetched
    _write_install_lock(store, lockfile.read(project.lock_path(preset.name)), records, known)
    for rec in records:
        origins[rec.rel] = ("provenance", f"inv sync: the build of {rec.name}=={rec.version}", rec.version)
        origins[layout.sdist(rec.sdist_filename)] = ("sdist", rec.sdist_url, rec.version)
        origins[layout.wheel(rec.wheel_filename)] = ("wheel", f"built from {layout.sdist(rec.sdist_filename)} (sha256 {rec.sdist_sha256})", rec.version)
    origins[layout.install_lock()] = ("install-lock", f"locks/{preset.name}.txt with the built wheels' sha256", "")
    results["builds"].seconds = time.monotonic() - t0

    write_index(project, preset, store, origins, known, jobs)
    for phase in PHASES:
        files = [rel for rel in origins if layout.folder_of(rel) == phase and (store / rel).is_file()]  # --only may leave phases unfetched
        results[phase].files = len(files)
        results[phase].bytes = sum((store / r).stat().st_size for r in files)
        results[phase].reused = len(plan.phases[phase].keep)
    return results


def _build_sdists(
    project: Project, preset: Preset, plan: SyncPlan, store: Path, known: dict[str, str], say: Callable[[str], None]
) -> tuple[list[sdist.Provenance], int]:
    """Build each job's wheel into wheels/ and its record into builds/; returns the new records and the bytes fetched.

    Everything a build reads is fetched and sha256-checked first (build dependencies, sdists), so a
    build dependency that does not match the build-deps lock refuses the builds before any starts.
    """
    from airlock import sdist_build

    bl = plan.build_lock
    assert bl is not None
    bl_path = sdist.build_lock_path(project.locks_dir, preset.name)
    bl_rel = bl_path.relative_to(project.root).as_posix()
    target = Target.for_preset(preset)
    fetched = 0
    out: list[sdist.Provenance] = []
    with sdist_build.scratch() as tmp_name:
        tmp = Path(tmp_name)
        deps = tmp / "deps"
        deps.mkdir()
        for c in plan.build_dep_choices:
            try:
                fetched += fetch.download(c.url, deps / c.filename, c.sha256).bytes_downloaded
            except HashMismatch as exc:
                raise HashMismatch(f"{bl_rel}: {c.pin.name}=={c.pin.version} ({c.filename}; refused before any build)", exc.expected, exc.actual) from None
        for job in plan.sdist_jobs:
            c = job.choice
            rel = layout.sdist(c.filename)
            known.pop(rel, None)
            try:
                fetched += fetch.download(c.url, store / rel, c.sha256).bytes_downloaded
            except HashMismatch as exc:
                raise HashMismatch(f"{c.pin.name}=={c.pin.version}: {c.filename} (refused before any build)", exc.expected, exc.actual) from None
            known[rel] = c.sha256
        req = tmp / "build-deps.txt"
        sdist_build.write_pip_requirements(bl, req)
        packages = store / layout.deb_packages("builder")
        packages_sha = known.get(layout.deb_packages("builder")) or (sha256_file(packages) if packages.is_file() and not packages.is_symlink() else None)
        if packages_sha is None:
            raise IntegrityError(f"{store / layout.deb_dir('builder')}: the builder .deb set is not in the store, and sdist builds install it; run: inv sync --preset {preset.name} --only images,debs")
        img = images.base_image(preset, "builder")
        base_id = images.for_resolving(img, store, preset.platform)
        builder = sdist_build.ensure_builder(project, preset, img.ref, base_id, store, packages_sha, say=say)
        installed = tuple(p.requirement for p in bl.lock.pins)
        bl_sha = sha256_file(bl_path)
        for job in plan.sdist_jobs:
            c = job.choice
            label = f"{c.pin.name}=={c.pin.version}"
            sdist_path = store / layout.sdist(c.filename)
            _, epoch = sdist.read_sdist(sdist_path, f"{label} ({layout.sdist(c.filename)})")
            say(f"builds   building {label} from {c.filename} for {target.label}")
            built = sdist_build.build_wheel(project, preset, builder, sdist_path, deps, req, epoch, label, tmp)
            sha = sha256_file(built.wheel)
            if not sdist.installs_on(built.wheel.name, target):
                raise ExternalError(f"sdist build of {label} made {built.wheel.name}, which does not install on {target.label}")
            if job.expect is not None and sha != job.expect:
                raise IntegrityError(
                    f"{label}: built again from the same sdist, build dependencies and builder base, the wheel differs from the "
                    f"recorded build (sha256 {sha}, {layout.provenance(c.pin.key, c.pin.version)} says {job.expect}): the build "
                    f"does not reproduce; the new wheel was not stored (remove the record to accept it: inv sync builds afresh)"
                )
            wrel = layout.wheel(built.wheel.name)
            dest = store / wrel
            part = layout.part_of(dest)
            shutil.copyfile(built.wheel, part)
            os.replace(part, dest)
            known[wrel] = sha
            rec = sdist.Provenance(
                name=c.pin.name, version=c.pin.version, sdist_filename=c.filename, sdist_sha256=c.sha256, sdist_url=c.url,
                build_lock_sha256=bl_sha, build_deps=installed, builder_image=img.ref, builder_id=base_id,
                builder_debs_sha256=packages_sha, target=target.label, source_date_epoch=epoch,
                wheel_filename=built.wheel.name, wheel_sha256=sha, wheel_size=dest.stat().st_size,
            )  # fmt: skip
            text = sdist.render_provenance(rec)
            atomic_write_text(store / rec.rel, text)
            known[rec.rel] = sha256_bytes(text.encode())
            out.append(rec)
            again = ", the recorded bytes reproduced" if job.expect else ""
            say(f"builds   built {label} for {target.label} in {built.seconds:.1f} s: {built.wheel.name} (sha256 {sha[:16]}…{again})")
    return out, fetched


def _write_install_lock(store: Path, lock: lockfile.Lockfile, records: list[sdist.Provenance], known: dict[str, str]) -> None:
    """builds/install-lock.txt: the lock with the built wheels' hashes; removed when nothing was built."""
    rel = layout.install_lock()
    path = store / rel
    if not records:
        if path.is_file() and not path.is_symlink():
            path.unlink()
        known.pop(rel, None)
        return
    text = sdist.render_install_lock(lock, records)
    if known.get(rel) != sha256_bytes(text.encode()):
        atomic_write_text(path, text)
        known[rel] = sha256_bytes(text.encode())


def _check_base(name: str, img: "images.BaseImage", lock: syslock.SystemLock, status: str | None) -> None:
    """The made base must be the system lock's pin (one stage of ``img``): IntegrityError naming the first differences."""
    for stage in images.STAGES:
        pin = lock.stage(stage).base
        if pin.ref != img.ref:
            continue
        why = syslock.base_mismatch(pin, docker.image_id(img.ref), syslock.parse_status(status) if status is not None else None)
        if why:
            raise IntegrityError(
                f"locks/{name}{syslock.SUFFIX}: {stage} base {img.ref} is not the pinned one ({why}); "
                f"the archive moved since the lock: re-lock with: inv lock --preset {name} --only system --upgrade"
            )


def _fetch_locked(preset: Preset, stage: str, img: "images.BaseImage", lock: syslock.SystemLock | None, dest: Path) -> tuple[list[debs.Deb], int]:
    """Download exactly the stage's locked .debs (every one pinned ``name=version``) and check them against the lock.

    apt wanting anything beyond or other than the lock, or a .deb whose sha256 or size is not the
    locked one, refuses the stage (the store keeps what it had); a pinned version the archive no
    longer serves is one line naming it, its pool URL and where a snapshot archive serves it.
    """
    assert lock is not None  # gather_sync requires it whenever debs run
    st = lock.stage(stage)
    rel = f"locks/{preset.name}{syslock.SUFFIX}"
    fix = f"re-lock with: inv lock --preset {preset.name} --only system --upgrade"
    names = {d.package for d in st.debs}
    in_base = {p.name for p in st.base.installed}
    args = tuple(f"{d.package}={d.version}" for d in st.debs) + tuple(p for p in debs.stage_packages(preset, stage) if p not in names and p not in in_base)
    by_file = {d.filename: d for d in st.debs}

    def check(got: list[debs.Deb], wanted: list[tuple[str, str, str]], status: str) -> None:
        why = syslock.base_mismatch(st.base, docker.image_id(img.ref), syslock.parse_status(status))
        if why:
            raise IntegrityError(f"{rel}: {stage} base {img.ref} is not the pinned one ({why}); the archive moved since the lock: {fix}")
        extra = sorted(f"{p} {v}" for p, v, a in wanted if debs.deb_filename(p, v, a) not in by_file)
        gone = sorted(f"{d.package} {d.version}" for d in st.debs if d.filename not in {debs.deb_filename(*w) for w in wanted})
        if extra or gone:
            what = "; ".join(x for x in (f"apt wants {', '.join(extra[:5])} beyond the lock" if extra else "",
                                         f"apt no longer installs {', '.join(gone[:5])}" if gone else "") if x)
            raise IntegrityError(f"{rel} is stale against {img.ref}'s archive ({stage}): {what}; {fix}")
        for d in got:
            pin = by_file[d.filename]
            if (d.sha256, d.size) != (pin.sha256, pin.size):
                raise HashMismatch(f"{rel}: {stage}: {d.filename} from {pin.url} (size {d.size}, locked {pin.size})", pin.sha256, d.sha256)

    try:
        return debs.resolve(img.ref, args, dest, preset.platform, check=check)
    except CommandError as exc:
        missing = syslock.not_found(exc.tail)
        if missing:
            raise ExternalError(syslock.not_served(preset.name, stage, lock, missing)) from None
        raise


def install_lock_source(project: Project, preset_name: str) -> Path:
    """The lock the offline ``pip install`` must read: the store's install lock when it holds wheels built
    from sdists (their own sha256 in place of the sdists'), else the committed lock.

    ``inv build`` puts this file at ``lock.txt`` of the deps context.
    """
    derived = project.artifacts(preset_name) / layout.install_lock()
    return derived if derived.is_file() and not derived.is_symlink() else project.lock_path(preset_name)


def write_index(project: Project, preset: Preset, store: Path, origins: dict[str, tuple[str, str, str]], known: dict[str, str], jobs: int) -> None:
    """manifest.json + SHA256SUMS over every file now in the store's folders (atomic).

    Strays (symlinks, files at the root or outside the folders) are never adopted: verify reports them.
    """
    files = layout.walk(store).files
    todo = [p for rel, p in files.items() if rel not in known]
    # prebuilt/ is inv prebuild's: its entries keep the kind and origin they were indexed with
    origins = {**_prebuilt_origins(store), **origins}
    hashed = {Path(k).relative_to(store).as_posix(): v for k, v in manifest.hash_files(todo, jobs=jobs).items()}
    entries = []
    for rel, p in sorted(files.items()):
        kind, origin, version = origins.get(rel, ("other", "unknown", ""))
        entries.append(manifest.Entry(path=rel, kind=kind, origin=origin, version=version, size=p.stat().st_size, sha256=known.get(rel) or hashed[rel]))
    lock_path = project.lock_path(preset.name)
    lock = lockfile.read(lock_path)
    man = manifest.Manifest(
        preset=preset.name,
        lock_digest=lock.input_digest,
        lock_sha256=sha256_file(lock_path),
        preset_sha256=sha256_file(project.preset_path(preset.name)),
        created=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        airlock_version=__version__,
        entries=tuple(entries),
    )
    manifest.write_store_index(store, man)


def _prebuilt_origins(store: Path) -> dict[str, tuple[str, str, str]]:
    """The index's (kind, origin, version) of the files in prebuilt/ (none when there is no readable index)."""
    try:
        man, _ = manifest.load_manifest(store)
    except InputError:
        return {}
    return {e.path: (e.kind, e.origin, e.version) for e in man.entries if layout.folder_of(e.path) == layout.PREBUILT}


def render_summary(results: dict[str, PhaseResult], total_seconds: float) -> str:
    rows = [("PHASE", "FILES", "BYTES", "REUSED", "DOWNLOADED", "RATE", "TIME")]
    tot = PhaseResult()
    for name, r in results.items():
        rows.append((name, str(r.files), progress.mb(r.bytes), str(r.reused), progress.mb(r.downloaded), progress.rate(r.downloaded, r.seconds), f"{r.seconds:.1f} s"))
        tot.files += r.files
        tot.bytes += r.bytes
        tot.reused += r.reused
        tot.downloaded += r.downloaded
    rows.append(("total", str(tot.files), progress.mb(tot.bytes), str(tot.reused), progress.mb(tot.downloaded), progress.rate(tot.downloaded, total_seconds), f"{total_seconds:.1f} s"))
    return render.table(rows, right=True)


def _part_size(dest: Path) -> int:
    part = layout.part_of(dest)
    return part.stat().st_size if part.exists() else 0


def sha256_text(text: str) -> str:
    return sha256_bytes(text.encode())


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
