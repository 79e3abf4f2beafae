"""``inv verify``: prove a preset's store complete, untouched, covering its lock, and fresh.

Findings, all collected in one run (never just the first):

========================  ===============================================================
code                      meaning
========================  ===============================================================
missing                   a manifest entry's file is not there
size                      a file's size differs from its manifest entry
sha256                    a file's sha256 differs from its manifest entry
extra                     a file is in the store but not in the manifest (``*.part`` too)
sums                      SHA256SUMS disagrees with manifest.json (missing, extra, other hash)
uncovered                 a pin of the lock has no wheel usable on the target
duplicate                 a pin has more than one wheel in the store
foreign                   a wheel in the store is for another platform/Python, or not locked
sdist                     a source distribution sits in wheels/ (sync refuses them)
stale-lock                the lock's input digest no longer matches its preset
stale-artifacts           the store was synced from another lock
========================  ===============================================================
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from packaging.utils import InvalidWheelFilename, parse_wheel_filename

from airlock import lockfile, manifest
from airlock.errors import InputError
from airlock.fsutil import sha256_file
from airlock.project import Project
from airlock.target import Target


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

    @property
    def ok(self) -> bool:
        return not self.findings

    def as_dict(self) -> dict:  # type: ignore[type-arg]
        return {"preset": self.preset, "ok": self.ok, "files": self.files, "bytes": self.bytes, "findings": [asdict(f) for f in self.findings]}


def stores(project: Project) -> list[str]:
    root = project.artifacts_root
    return sorted(p.name for p in root.iterdir() if p.is_dir() and (p / manifest.MANIFEST).exists()) if root.is_dir() else []


def verify_store(project: Project, name: str, jobs: int = 0) -> Report:
    """Every check above for ``artifacts/<name>/``; raises InputError on bad input only."""
    from airlock.presets import load_preset

    preset = load_preset(project, name)
    store = project.artifacts(name)
    if not store.is_dir():
        raise InputError(f"{store}: no such store; run: inv sync --preset {name}")
    man = manifest.read_manifest(store)
    rep = Report(name)
    listed = man.by_path()

    # integrity: manifest vs files on disk
    on_disk = {p.relative_to(store).as_posix(): p for p in store.rglob("*") if p.is_file()}
    on_disk = {k: v for k, v in on_disk.items() if k not in manifest.INDEX_FILES}
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
    rep.files = len(on_disk)
    rep.bytes = sum(p.stat().st_size for p in on_disk.values())

    # SHA256SUMS agrees with manifest.json
    sums_path = store / manifest.SUMS
    try:
        sums = manifest.parse_sha256sums(sums_path.read_text(), str(sums_path))
    except FileNotFoundError:
        rep.findings.append(Finding("sums", manifest.SUMS, "missing"))
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

    # lock coverage
    lock_path = project.lock_path(name)
    lock = lockfile.read(lock_path)
    target = Target.for_preset(preset)
    rep.findings += coverage(lock, target, {rel: e.sha256 for rel, e in listed.items() if rel.startswith("wheels/")})

    # staleness
    from airlock.lock import input_digest

    if lock.input_digest != input_digest(project, preset):
        rep.findings.append(Finding("stale-lock", f"locks/{name}.txt", f"older than presets/{name}.json; run: inv lock --preset {name}"))
    if man.lock_digest != lock.input_digest or man.lock_sha256 != sha256_file(lock_path):
        rep.findings.append(Finding("stale-artifacts", "manifest.json", f"synced from another lock than locks/{name}.txt; run: inv sync --preset {name}"))
    return rep


def coverage(lock: lockfile.Lockfile, target: Target, wheels: dict[str, str]) -> list[Finding]:
    """Each pin has exactly one wheel for the target; every wheel belongs to a pin."""
    from airlock.wheels import usable_on

    out: list[Finding] = []
    by_pin: dict[str, list[str]] = {p.key: [] for p in lock.pins}
    pins = lock.by_key()
    for rel, sha in sorted(wheels.items()):
        fn = rel.rsplit("/", 1)[-1]
        if not fn.endswith(".whl"):
            out.append(Finding("sdist" if fn.endswith((".tar.gz", ".zip", ".tar.bz2")) else "foreign", rel, "not a wheel (sdists are refused)"))
            continue
        try:
            key, version, _, _ = parse_wheel_filename(fn)
        except InvalidWheelFilename:
            out.append(Finding("foreign", rel, "not a valid wheel file name"))
            continue
        pin = pins.get(key)
        if pin is None or sha not in pin.hashes:
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
