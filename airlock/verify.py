"""``inv verify``: prove a preset's store complete, untouched, covering its lock, and fresh.

Findings, all collected in one run (never just the first):

========================  ===============================================================
code                      meaning
========================  ===============================================================
missing                   a manifest entry's file is not there
size                      a file's size differs from its manifest entry
sha256                    a file's sha256 differs from its manifest entry
extra                     a file is in the store but not in the manifest (``*.part``, symlinks,
                          anything at the root or outside the store's folders too)
malformed                 a manifest entry or SHA256SUMS line that cannot be trusted (bad path,
                          sha256, size, kind; not UTF-8), or an index that is not one at all
sums                      SHA256SUMS disagrees with manifest.json (missing, extra, other hash)
uncovered                 a pin of the lock has no wheel usable on the target
duplicate                 a pin has more than one wheel in the store; a path listed twice
foreign                   a wheel in the store is for another platform/Python, or not locked
sdist                     a source distribution sits in wheels/ (an sdist belongs in builds/)
provenance                a wheel built from an sdist is not the one its record names, or its
                          record names an sdist the lock does not pin (see :mod:`airlock.sdist`)
stale-build               a wheel was built with other build dependencies, builder base or .debs
install-lock              builds/install-lock.txt is not the lock with the built wheels' sha256
stale-lock                the lock's input digest no longer matches its preset; the build-deps
                          lock does not fit the lock, or was edited
stale-artifacts           the store was synced from another lock
unlocked                  a .deb in debs/<stage>/ that locks/<preset>.system.json does not name
stale-base                a base image tarball is not the system lock's pin (another installed
                          package set, or another image id)
========================  ===============================================================

Warnings, reported but not failing the store (``Report.warnings``):

========================  ===============================================================
stale-prebuilt            a prebuilt part in prebuilt/ whose key is not the key of the preset's
                          inputs now (flags, sources, builder base or .debs changed): inv build
                          compiles that part instead (see :mod:`airlock.prebuilt`). Its bytes
                          are still checked like any file's (missing, size, sha256).
========================  ===============================================================

The system lock (``locks/<preset>.system.json``): missing, unreadable or stale against the
preset is ``stale-lock``; a locked .deb the store lacks is ``missing``, one with other bytes
``sha256`` (see :func:`preset_findings`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from airlock import lockfile, prebuilt, sdist, syslock
from airlock.errors import InputError, IntegrityError
from airlock.fsutil import read_input_text, sha256_file
from airlock.lock.inputs import check_fresh
from airlock.project import Project
from airlock.store import layout, manifest, writer
from airlock.target import Target

if TYPE_CHECKING:
    from airlock.presets import Preset


@dataclass(frozen=True)
class Finding:
    code: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.path}: {self.message}"


@dataclass
class Report:
    preset: str
    files: int = 0
    bytes: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: reported, not failing (stale-prebuilt)
    warnings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        return {"preset": self.preset, "ok": self.ok, "files": self.files, "bytes": self.bytes, "findings": [asdict(f) for f in self.findings], "warnings": [asdict(f) for f in self.warnings]}


def stores(project: Project) -> list[str]:
    root = project.artifacts_root
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / layout.MANIFEST).exists()) if root.is_dir() else []


def verify_store(project: Project, name: str, jobs: int = 0) -> Report:
    """Every check above for ``artifacts/<name>/``, holding the store shared (a sync running is BusyError)."""
    from airlock.presets import load_preset

    preset = load_preset(project, name)
    store = project.artifacts(name)
    if not store.is_dir() and not store.is_symlink():
        raise InputError(f"{store}: no such store; run: inv sync --preset {name}")
    with writer.hold(store, exclusive=False, doing="run inv verify"):
        return _verify(project, preset, store, jobs)


def _verify(project: Project, preset: "Preset", store: Path, jobs: int) -> Report:
    name = preset.name
    rep = Report(name)
    try:
        man, problems = manifest.load_manifest(store)
    except InputError as exc:
        # No manifest, or not a manifest at all: one finding, and every check below still runs (all files count as extra).
        rep.findings.append(Finding("malformed" if (store / layout.MANIFEST).exists() else "missing", layout.MANIFEST, str(exc)))
        man, problems = manifest.Manifest(name, "", "", "", "", "", ()), []
    rep.findings += [Finding(p.code, p.path, p.message) for p in problems]
    listed = man.by_path()

    # integrity: manifest vs what is really on disk (symlinks are never followed)
    listing = layout.walk(store)
    on_disk = listing.files
    to_hash = []
    for rel, e in listed.items():
        p = on_disk.get(rel)
        if p is None:
            rep.findings.append(Finding("missing", rel, "listed in manifest.json but absent"))
        elif p.stat().st_size != e.size:
            rep.findings.append(Finding("size", rel, f"size {p.stat().st_size}, manifest says {e.size}"))
        else:
            to_hash.append(p)
    hashed = manifest.hash_files(to_hash, jobs=jobs)
    for path, digest in hashed.items():
        rel = Path(path).relative_to(store).as_posix()
        if digest != listed[rel].sha256:
            rep.findings.append(Finding("sha256", rel, f"expected {listed[rel].sha256}, got {digest}"))
    for rel in sorted(set(on_disk) - set(listed)):
        rep.findings.append(Finding("extra", rel, "present but not listed in manifest.json"))
    for rel in listing.parts:
        rep.findings.append(Finding("extra", rel, "an interrupted download; run inv sync to finish it"))
    for rel, why in listing.strays:
        rep.findings.append(Finding("extra", layout.printable(rel), f"{why}; not part of the store, never indexed: remove it"))
    rep.files = len(on_disk)
    rep.bytes = sum(p.stat().st_size for p in on_disk.values())

    # SHA256SUMS agrees with manifest.json
    sums_path = store / layout.SUMS
    try:
        sums, problems = manifest.parse_sha256sums(manifest.read_index_text(sums_path), str(sums_path))
        rep.findings += [Finding(p.code, p.path, p.message) for p in problems]
    except FileNotFoundError:
        rep.findings.append(Finding("sums", layout.SUMS, "missing"))
        sums = None
    except InputError as exc:
        rep.findings.append(Finding("malformed", layout.SUMS, str(exc)))
        sums = None
    if sums is not None:
        for rel in sorted(set(listed) | set(sums)):
            a, b = listed.get(rel), sums.get(rel)
            if a is None:
                rep.findings.append(Finding("sums", rel, "in SHA256SUMS but not in manifest.json"))
            elif b is None:
                rep.findings.append(Finding("sums", rel, "in manifest.json but not in SHA256SUMS"))
            elif a.sha256 != b:
                rep.findings.append(Finding("sums", rel, f"SHA256SUMS says {b}, manifest.json {a.sha256}"))

    # the store against the preset and its system lock: every source at its pinned sha256, every base image, each stage's .deb set
    pfacts = gather_preset_facts(store, preset, {rel: e.sha256 for rel, e in listed.items()}, project.locks_dir)
    rep.findings += preset_findings(preset, pfacts)

    # lock coverage
    lock_path = project.lock_path(name)
    lock = lockfile.read(lock_path)
    target = Target.for_preset(preset)
    built = _built_facts(project, preset, store, lock, listed, pfacts.image_ids)
    rep.findings += coverage(
        lock, target, {rel: e.sha256 for rel, e in listed.items() if layout.folder_of(rel) == layout.WHEELS}, sdist.built_wheel_hashes(lock, built.records)
    )
    # wheels built from sdists: their records against the committed lock and build-deps lock, the install lock derived again
    rep.findings += [Finding(*f) for f in built.lock_problems]
    rep.findings += [Finding(*f) for f in sdist.provenance_findings(lock, built.records, {r: e.sha256 for r, e in listed.items()}, built.inputs, built.install_lock, target)]

    # prebuilt parts: a key that is no longer the preset's is stale (the build compiles instead), not broken
    parts = prebuilt.gather_parts(project, preset, {rel: e.sha256 for rel, e in listed.items()})
    rep.warnings += [Finding("stale-prebuilt", rel, why) for rel, why in prebuilt.stale(parts)]

    # staleness
    try:
        check_fresh(project, preset, lock)
    except IntegrityError:
        rep.findings.append(Finding("stale-lock", f"locks/{name}.txt", f"older than presets/{name}.json; run: inv lock --preset {name}"))
    if man.lock_digest != lock.input_digest or man.lock_sha256 != sha256_file(lock_path):
        rep.findings.append(Finding("stale-artifacts", "manifest.json", f"synced from another lock than locks/{name}.txt; run: inv sync --preset {name}"))
    return rep


@dataclass(frozen=True)
class BuiltFacts:
    """What verify checks built wheels on, read first: the records, the current build inputs, the install lock."""

    records: dict[str, sdist.Provenance | str]
    inputs: sdist.BuildInputs
    install_lock: str | None
    lock_problems: list[tuple[str, str, str]]


def _listed_text(store: Path, rel: str, listed: Mapping[str, object]) -> str | None:
    """The text of an indexed store file: None when it is not indexed, a symlink, not a file, or not readable text."""
    p = store / rel
    if rel not in listed or p.is_symlink() or not p.is_file():
        return None
    try:
        return read_input_text(p)
    except InputError:
        return None


def _built_facts(
    project: Project, preset: Preset, store: Path, lock: lockfile.Lockfile, listed: dict[str, manifest.Entry], image_ids: dict[str, str | None]
) -> BuiltFacts:
    from airlock import images

    def text(rel: str) -> str | None:
        return _listed_text(store, rel, listed)

    records = sdist.read_records({rel: text(rel) or "" for rel in listed if layout.folder_of(rel) == layout.BUILDS and rel.endswith(layout.PROVENANCE)})
    bl_path = sdist.build_lock_path(project.locks_dir, preset.name)
    bl_rel = bl_path.relative_to(project.root).as_posix()
    problems: list[tuple[str, str, str]] = []
    try:
        bl = sdist.read_build_lock(bl_path)
    except InputError as exc:
        bl = None
        problems.append(("stale-lock", bl_rel, str(exc)))
    if bl is not None:
        problems += [("stale-lock", bl_rel, p) for p in sdist.check_build_lock(bl, lock, bl_rel)]
    builder_id = image_ids.get(layout.image(images.base_image(preset, "builder").tar_name))
    packages = listed.get(layout.deb_packages("builder"))
    inputs = sdist.BuildInputs(sha256_file(bl_path) if bl is not None else None, builder_id, packages.sha256 if packages else None, Target.for_preset(preset).label)
    return BuiltFacts(records, inputs, text(layout.install_lock()), problems)


@dataclass(frozen=True)
class PresetFacts:
    """What :func:`preset_findings` decides on, gathered from the store first (all the I/O)."""

    listed: dict[str, str]  # manifest path -> sha256 (its bytes are checked against this separately)
    image_ids: dict[str, str | None]  # images/<tar> of the preset's bases -> id in the tarball (None: unreadable or absent)
    deb_inputs: dict[str, object]  # stage -> parsed debs/<stage>/inputs.json (None: absent or not JSON)
    packages: dict[str, list[dict[str, str]]]  # stage -> paragraphs of debs/<stage>/Packages ([] when absent)
    #: locks/<preset>.system.json when it is fresh for the preset, else why it is not (missing, unreadable, stale)
    system_lock: "syslock.SystemLock | str" = "not read"
    #: images/<tar> of a bootstrapped base -> its installed packages (None: unreadable, no dpkg status)
    installed: "dict[str, tuple[syslock.Installed, ...] | None]" = field(default_factory=dict)


def gather_preset_facts(store: Path, preset: "Preset", listed: dict[str, str], locks_dir: Path | None = None) -> PresetFacts:
    from airlock import images
    from airlock.debs import parse_packages

    locks_dir = locks_dir if locks_dir is not None else store.parent.parent / "locks"
    path = syslock.lock_path(locks_dir, preset.name)
    system: syslock.SystemLock | str
    why = syslock.problem(path, f"locks/{path.name}", preset)
    if why is None:
        system = syslock.read(path)  # type: ignore[assignment]  # problem() read it: fresh and valid
    else:
        system = why

    def text(rel: str) -> str | None:
        return _listed_text(store, rel, listed)

    image_ids = {}
    installed: dict[str, tuple[syslock.Installed, ...] | None] = {}
    for img in images.base_images(preset):
        rel = layout.image(img.tar_name)
        tar = store / rel
        readable = rel in listed and tar.is_file() and not tar.is_symlink()
        image_ids[rel] = images.image_id_from_tar(tar) if readable else None
        if img.bootstrapped and readable:
            status = images.dpkg_status_from_tar(tar)
            installed[rel] = syslock.parse_status(status) if status is not None else None
    deb_inputs: dict[str, object] = {}
    packages: dict[str, list[dict[str, str]]] = {}
    for stage in images.STAGES:
        raw = text(layout.deb_inputs(stage))
        try:
            deb_inputs[stage] = json.loads(raw) if raw is not None else None
        except (ValueError, RecursionError):
            deb_inputs[stage] = None
        pk = text(layout.deb_packages(stage))
        packages[stage] = parse_packages(pk) if pk is not None else []
    return PresetFacts(listed, image_ids, deb_inputs, packages, system, installed)


def preset_findings(preset: "Preset", facts: PresetFacts) -> list[Finding]:
    """The store against what the preset asks for (pure; the index's own integrity is checked elsewhere).

    ==================================================  ==============  =====================================
    in the store                                        code            fix
    ==================================================  ==============  =====================================
    a source the preset pins is not listed              missing         inv sync --only sources
    a listed source's sha256 is not the preset's pin    stale           inv sync --only sources
    a listed source the preset does not name            unwanted        inv sync (removes it)
    a base image's tarball is not listed                missing         inv sync --only images
    a listed base image tarball has no readable id      malformed       inv sync --only images
    a listed images/ tarball the preset does not name   unwanted        inv sync (removes it)
    a stage's inputs.json is not listed or not JSON     missing         inv sync --only debs
    inputs.json names other packages or platform        stale-debs      inv sync --only debs
    inputs.json names another base than the tarball's   stale-debs      inv sync --only debs
    a .deb the stage's Packages names is not listed     missing         inv sync --only debs
    a listed .deb whose sha256 differs from Packages    sha256          inv sync --only debs
    the system lock is missing, unreadable or stale     stale-lock      inv lock --only system
    a .deb the system lock pins is not listed           missing         inv sync --only debs
    a listed .deb whose sha256 is not the lock's        sha256          inv sync --only debs
    a listed .deb in debs/<stage>/ the lock does not
      name                                              unlocked        inv sync --only debs
    a base tarball whose installed set (bootstrap) or
      image id (pulled) is not the lock's base pin      stale-base      inv sync --only images (or re-lock)
    ==================================================  ==============  =====================================

    The lock's .debs and bases are compared only when the lock is fresh (a stale one is one finding).
    """
    from airlock import debs, images

    out: list[Finding] = []
    fix = f"run: inv sync --preset {preset.name}"
    wanted_sources = {}
    for fld, src in preset.named_sources:
        rel = layout.source(src.filename)
        wanted_sources[rel] = src
        got = facts.listed.get(rel)
        if got is None:
            out.append(Finding("missing", rel, f"the archive {fld} pins is not in the store; {fix} --only sources"))
        elif got != src.sha256:
            out.append(Finding("stale", rel, f"{fld} pins sha256 {src.sha256}, the store holds {got}; {fix} --only sources"))
    wanted_images = {}
    for img in images.base_images(preset):
        rel = layout.image(img.tar_name)
        wanted_images[rel] = img
        if rel not in facts.listed:
            out.append(Finding("missing", rel, f"base image {img.ref} ({img.field}) is not in the store; {fix} --only images"))
        elif facts.image_ids.get(rel) is None:
            out.append(Finding("malformed", rel, f"not a docker save tarball of {img.ref} (no image id in it); {fix} --only images"))
    for rel in sorted(facts.listed):
        folder = layout.folder_of(rel)
        if (folder == layout.SOURCES and rel not in wanted_sources) or (folder == layout.IMAGES and rel not in wanted_images):
            out.append(Finding("unwanted", rel, f"the preset does not ask for it; {fix} (removes it)"))
    for stage in images.STAGES:
        img = images.base_image(preset, stage)
        inputs_rel = layout.deb_inputs(stage)
        got = facts.deb_inputs.get(stage)
        if not isinstance(got, dict):
            out.append(Finding("missing", inputs_rel, f"the {stage} .deb set was never resolved for this preset; {fix} --only debs"))
            continue
        want_pkgs = list(debs.stage_packages(preset, stage))
        if got.get("packages") != want_pkgs or got.get("platform") != preset.platform:
            out.append(Finding("stale-debs", inputs_rel, f"resolved for {got.get('packages')} on {got.get('platform')}; the preset asks for {want_pkgs} on {preset.platform}; {fix} --only debs"))
        base_id = facts.image_ids.get(layout.image(img.tar_name))
        if base_id is not None and got.get("base") != base_id:
            out.append(Finding("stale-debs", inputs_rel, f"resolved against base {got.get('base')}, but the store's {img.ref} is {base_id}; {fix} --only debs"))
        for para in facts.packages.get(stage, []):
            rel = layout.deb_file(stage, para.get("Filename", ""))
            if layout.check_rel(rel) is not None:
                out.append(Finding("malformed", layout.printable(layout.deb_packages(stage)), f"Filename {layout.printable(para.get('Filename', ''))[:200]!r} is not a path in the store"))
            elif rel not in facts.listed:
                out.append(Finding("missing", rel, f"{layout.deb_packages(stage)} names it but the store does not list it; {fix} --only debs"))
            elif facts.listed[rel] != para.get("SHA256"):
                out.append(Finding("sha256", rel, f"{layout.deb_packages(stage)} says {para.get('SHA256')}, the store's index {facts.listed[rel]}; {fix} --only debs"))
    out += _system_findings(preset, facts, wanted_images)
    return out


def _system_findings(preset: "Preset", facts: PresetFacts, wanted_images: dict[str, object]) -> list[Finding]:
    """The rows of :func:`preset_findings` about locks/<preset>.system.json."""
    from airlock import images

    rel_lock = f"locks/{preset.name}{syslock.SUFFIX}"
    if isinstance(facts.system_lock, str):
        return [Finding("stale-lock", rel_lock, facts.system_lock)]
    lock = facts.system_lock
    out: list[Finding] = []
    fix = f"run: inv sync --preset {preset.name}"
    seen: set[str] = set()
    for stage in images.STAGES:
        st = lock.stage(stage)
        pinned = {layout.deb_file(stage, d.filename): d for d in st.debs}
        for rel, d in sorted(pinned.items()):
            got = facts.listed.get(rel)
            if got is None:
                out.append(Finding("missing", rel, f"{rel_lock} pins {d.package} {d.version} ({stage}) but the store does not list it; {fix} --only debs"))
            elif got != d.sha256:
                out.append(Finding("sha256", rel, f"{rel_lock} pins sha256 {d.sha256}, the store holds {got}; {fix} --only debs"))
        for rel in sorted(facts.listed):
            if rel.startswith(layout.deb_dir(stage) + "/") and rel.endswith(".deb") and rel not in pinned:
                out.append(Finding("unlocked", rel, f"{rel_lock} does not pin it for {stage}; {fix} --only debs"))
        img = images.base_image(preset, stage)
        tar = layout.image(img.tar_name)
        if tar in seen or tar not in facts.listed or tar not in wanted_images or st.base.ref != img.ref:
            continue
        seen.add(tar)
        why = syslock.base_mismatch(st.base, facts.image_ids.get(tar), facts.installed.get(tar))
        if why:
            out.append(Finding("stale-base", tar, f"not the {stage} base {rel_lock} pins ({why}); {fix} --only images, or re-lock: inv lock --preset {preset.name} --only system --upgrade"))
    return out


def coverage(lock: lockfile.Lockfile, target: Target, wheels: dict[str, str], built: dict[str, str] | None = None) -> list[Finding]:
    """Each pin has exactly one wheel for the target; every wheel belongs to a pin.

    ``built`` maps a pin's key to the sha256 of the wheel built from its sdist (from a provenance
    record whose sdist the lock pins): that wheel is the pin's, its ``linux_<arch>`` tag the target's.
    """
    from airlock.wheels import usable_on

    built = built or {}

    out: list[Finding] = []
    by_pin: dict[str, list[str]] = {p.key: [] for p in lock.pins}
    pins = lock.by_key()
    for rel, sha in sorted(wheels.items()):
        fn = rel.rsplit("/", 1)[-1]
        if not fn.endswith(".whl"):
            out.append(Finding("sdist" if fn.endswith((".tar.gz", ".zip", ".tar.bz2")) else "foreign", rel, "not a wheel (an sdist is kept in builds/, the wheel built from it in wheels/)"))
            continue
        try:
            key, version, _, _ = parse_wheel_filename(fn)
        except InvalidWheelFilename:
            out.append(Finding("foreign", rel, "not a valid wheel file name"))
            continue
        pin = pins.get(key)
        if pin is not None and built.get(key) == sha:
            if sdist.installs_on(fn, target):
                by_pin[key].append(rel)
            else:
                out.append(Finding("foreign", rel, f"built from {pin.name}'s sdist, but does not install on {target.label}"))
        elif pin is None or sha not in pin.hashes:
            out.append(Finding("foreign", rel, f"not in the lock ({key}=={version} with this hash)"))
        elif not usable_on(fn, target):
            out.append(Finding("foreign", rel, f"does not install on {target.label}"))
        else:
            by_pin[key].append(rel)
    for key, found in by_pin.items():
        pin = pins[key]
        if not found:
            out.append(Finding("uncovered", f"{pin.name}=={pin.version}", f"no wheel for {target.label} in wheels/; run: inv sync --preset {lock.preset}"))
        elif len(found) > 1:
            out.append(Finding("duplicate", f"{pin.name}=={pin.version}", f"{len(found)} wheels: {', '.join(found)}"))
    return out


def render_json(reports: list[Report]) -> str:
    return json.dumps({"ok": all(r.ok for r in reports), "presets": [r.as_dict() for r in reports]}, indent=2)
