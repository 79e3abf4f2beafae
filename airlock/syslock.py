"""The system lock: ``locks/<preset>.system.json`` pins every .deb and base image an image takes in.

One committed file per preset, written by ``inv lock`` (``--only system``), checked by ``inv lock
--check`` (offline: its ``inputs`` digest against the preset), fetched exactly by ``inv sync``
and compared with the store by ``inv verify``. JSON, sorted keys, two-space indent: a re-lock
shows in ``git diff`` as the packages that moved.

Per stage (builder, runtime) it holds

``base``
    the pin of the stage's base image. A pulled image: its registry digest
    (``repo@sha256:…``) and image id. A bootstrapped one: debootstrap's tarballs are not
    byte-reproducible (file times, the order of ``ldconfig``'s cache), so a tarball sha256
    would differ on every machine; what decides its content is pinned instead: suite,
    mirror, variant, components, further suites, the keyring's sha256, and the installed
    package set (name, version, arch) as ``var/lib/dpkg/status`` lists it.
``packages``
    the stage's apt set as the preset asks for it (:func:`airlock.debs.stage_packages`).
``debs``
    every .deb apt installs on that base for that set: package, version, arch, size,
    sha256, file name, pool URL and the origin (suite) apt reported.

``inputs`` is the digest of what decides the lock (per stage the base spec, the package
list, the platform); a preset change without a re-lock makes it stale. ``locked`` is the
UTC time of the resolution: where the archive drops a pinned version, a snapshot archive
serves the archive as it was then (:func:`not_served`). Re-locking an unchanged result keeps
the file as it is, ``locked`` included.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from airlock import debs
from airlock.errors import ExternalError, InputError, IntegrityError
from airlock.fsutil import atomic_write_text, read_input_text, sha256_bytes
from airlock.presets import Base, Preset

SCHEMA = 1
STAGES = ("builder", "runtime")
#: the suffix of a system lock beside ``locks/<preset>.txt``
SUFFIX = ".system.json"

_Name = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9+.-]*$", max_length=200)]
_Version = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9.+~:-]+$", max_length=200)]
_Arch = Annotated[str, StringConstraints(pattern=r"^[a-z0-9-]+$", max_length=40)]
_Sha = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Installed(_Model):
    """A package installed in a base image (``var/lib/dpkg/status``)."""

    name: _Name
    version: _Version
    arch: _Arch


class DebPin(_Model):
    package: _Name
    version: _Version
    arch: _Arch
    size: int = Field(ge=0)
    sha256: _Sha
    filename: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9+.~%_-]*\.deb$", max_length=300)]
    url: Annotated[str, StringConstraints(pattern=r"^(https?|file)://\S+$", max_length=1000)]
    origin: Annotated[str, StringConstraints(max_length=300, pattern=r"^[^\x00-\x1f\x7f]*$")]


class BasePin(_Model):
    """Exactly one of: a pulled image (``digest``, ``image_id``) or a bootstrap (the rest)."""

    ref: str = Field(max_length=300, pattern=r"^[^\x00-\x1f\x7f\s]+$")
    digest: str | None = Field(default=None, max_length=400, pattern=r"^\S+@sha256:[0-9a-f]{64}$")
    image_id: str | None = Field(default=None, pattern=r"^sha256:[0-9a-f]{64}$")
    suite: str | None = None
    mirror: str | None = None
    variant: str | None = None
    components: tuple[str, ...] = ()
    suites: tuple[str, ...] = ()
    keyring_sha256: _Sha | None = None
    installed: tuple[Installed, ...] = ()


class StageLock(_Model):
    base: BasePin
    packages: tuple[_Name, ...]
    debs: tuple[DebPin, ...]


class SystemLock(_Model):
    schema_: Literal[1] = Field(alias="schema")
    preset: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=100)
    platform: str = Field(pattern=r"^linux/[a-z0-9]+$")
    inputs: str = Field(pattern=r"^sha256:[0-9a-f]{64}$")
    locked: str = Field(pattern=r"^\d{8}T\d{6}Z$")
    stages: dict[Literal["builder", "runtime"], StageLock]

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def stage(self, name: str) -> StageLock:
        return self.stages[name]  # type: ignore[index]


# ---------------------------------------------------------------- inputs, file


def system_inputs(preset: Preset) -> dict[str, Any]:
    """What decides a system lock: per stage the base spec and the apt set, and the platform."""
    stages = {}
    for stage in STAGES:
        base: Base = getattr(preset.base, stage)
        stages[stage] = {"base": base.model_dump(mode="json"), "packages": list(debs.stage_packages(preset, stage))}
    return {"schema": SCHEMA, "platform": preset.platform, "stages": stages}


def input_digest(preset: Preset) -> str:
    data = json.dumps(system_inputs(preset), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + sha256_bytes(data.encode())


def lock_path(locks_dir: Path, name: str) -> Path:
    return locks_dir / f"{name}{SUFFIX}"


def _field(loc: tuple[int | str, ...]) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else ("." if i else "") + str(p).removesuffix("_") for i, p in enumerate(loc)) or "(top level)"


def parse(text: str, where: str) -> SystemLock:
    """Validate a system lock's text; any problem is one InputError naming ``where`` and the field."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise InputError(f"{where}: not JSON ({exc}); restore it from git, or run: inv lock --only system") from None
    try:
        return SystemLock.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "unknown field" if err["type"] == "extra_forbidden" else ("required field is missing" if err["type"] == "missing" else err["msg"])
        raise InputError(f"{where}: {_field(err['loc'])}: {msg}; restore it from git, or run: inv lock --only system") from None


def read(path: Path) -> SystemLock | None:
    """The system lock at ``path``; None when there is none."""
    try:
        text = read_input_text(path)
    except FileNotFoundError:
        return None
    return parse(text, str(path))


def render(lock: SystemLock) -> str:
    return json.dumps(lock.model_dump(mode="json", by_alias=True), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write(path: Path, lock: SystemLock) -> bool:
    """Write ``lock`` atomically, unless the file already holds the same lock but for its ``locked`` time.

    Returns whether the file changed.
    """
    try:
        old = read(path)
    except InputError:
        old = None
    if old is not None and old.model_copy(update={"locked": lock.locked}) == lock:
        return False
    atomic_write_text(path, render(lock))
    return True


def problem(path: Path, rel: str, preset: Preset) -> str | None:
    """Why the system lock at ``path`` is not fresh for ``preset`` (None when it is): for ``--check``, sync and verify."""
    fix = f"run: inv lock --preset {preset.name} --only system"
    try:
        lock = read(path)
    except InputError as exc:
        return f"{rel} cannot be read ({exc}); {fix}"
    if lock is None:
        return f"{rel} is missing; {fix}"
    if lock.inputs != input_digest(preset) or lock.preset != preset.name:
        return f"{rel} is stale (its preset's bases, apt packages or platform changed); {fix}"
    return None


def require(locks_dir: Path, preset: Preset) -> SystemLock:
    """The fresh system lock of ``preset``: InputError (exit 2) when there is none, IntegrityError (exit 1) when stale."""
    path = lock_path(locks_dir, preset.name)
    rel = f"locks/{path.name}"
    lock = read(path)
    if lock is None:
        raise InputError(f"{rel}: no system lock (the pinned .debs and base images); run: inv lock --preset {preset.name} --only system")
    why = problem(path, rel, preset)
    if why:
        raise IntegrityError(why)
    return lock


# ---------------------------------------------------------------- what apt and dpkg say (pure)


def parse_status(text: str) -> tuple[Installed, ...]:
    """The installed packages of a ``var/lib/dpkg/status`` (sorted by name, arch)."""
    out = []
    for para in debs.parse_packages(text):
        if para.get("Status", "").split()[-1:] == ["installed"] and para.get("Package") and para.get("Version"):
            out.append(Installed(name=para["Package"], version=para["Version"], arch=para.get("Architecture", "all")))
    return tuple(sorted(out, key=lambda p: (p.name, p.arch)))


#: ``apt-get install --print-uris -qq``: ``'URL' FILENAME SIZE SHA256:HEX``
_URI = re.compile(r"^'(\S+)' (\S+\.deb) (\d+) (?:SHA256:([0-9a-f]{64}))?")


def parse_uris(text: str) -> dict[str, tuple[str, int, str | None]]:
    """file name -> (URL, size, sha256) from ``--print-uris``."""
    out: dict[str, tuple[str, int, str | None]] = {}
    for line in text.splitlines():
        m = _URI.match(line.strip())
        if m:
            out[m.group(2)] = (m.group(1), int(m.group(3)), m.group(4))
    return out


def stage_debs(sim: str, uris: str, where: str) -> tuple[DebPin, ...]:
    """The .debs of one stage from apt's simulation and its ``--print-uris`` (sorted by file name)."""
    got = parse_uris(uris)
    out = []
    for pkg, ver, arch, origin in debs.parse_sim(sim):
        name = debs.deb_filename(pkg, ver, arch)
        if name not in got or got[name][2] is None:
            raise ExternalError(f"{where}: apt gave no URL and SHA256 for {name} (package {pkg} {ver}); is the archive's index complete?")
        url, size, sha = got[name]
        out.append(DebPin(package=pkg, version=ver, arch=arch, size=size, sha256=sha, filename=name, url=url, origin=origin))
    return tuple(sorted(out, key=lambda d: d.filename))


def installed_diff(pinned: Iterable[Installed], got: Iterable[Installed], limit: int = 5) -> list[str]:
    """How an installed set differs from its pin, one short item per package (first ``limit``, then a count)."""
    a = {(p.name, p.arch): p.version for p in pinned}
    b = {(p.name, p.arch): p.version for p in got}
    items = []
    for key in sorted(set(a) | set(b)):
        name = f"{key[0]}:{key[1]}"
        if key not in b:
            items.append(f"{name} {a[key]} missing")
        elif key not in a:
            items.append(f"{name} {b[key]} not pinned")
        elif a[key] != b[key]:
            items.append(f"{name} {b[key]} (pinned {a[key]})")
    if len(items) > limit:
        items = items[:limit] + [f"and {len(items) - limit} more"]
    return items


def base_mismatch(pin: BasePin, image_id: str | None, installed: tuple[Installed, ...] | None) -> str | None:
    """Why a made base is not its pin (None when it is): the image id for a pulled image, the installed set for a bootstrap."""
    if pin.image_id is not None:
        return None if image_id == pin.image_id else f"image id {image_id}, pinned {pin.image_id}"
    if installed is None:
        return "its installed package set cannot be read"
    diff = installed_diff(pin.installed, installed)
    return ("installed packages differ: " + ", ".join(diff)) if diff else None


#: hosts of an archive -> (snapshot archive base, archive name)
_SNAPSHOTS = (
    (re.compile(r"^https?://(deb|ftp\.[a-z.]+|httpredir)\.debian\.org/debian/"), "https://snapshot.debian.org/archive/debian"),
    (re.compile(r"^https?://(security\.debian\.org|deb\.debian\.org)/debian-security/"), "https://snapshot.debian.org/archive/debian-security"),
    (re.compile(r"^https?://([a-z.]*archive|security)\.ubuntu\.com/ubuntu/"), "https://snapshot.ubuntu.com/ubuntu"),
)


def snapshot_url(url: str, locked: str) -> str | None:
    """Where a snapshot archive serves ``url``'s file as the archive was at ``locked`` (None: no known snapshot archive)."""
    if "/pool/" not in url:
        return None
    pool = url[url.index("/pool/") + 1 :]
    for pattern, base in _SNAPSHOTS:
        if pattern.match(url):
            return f"{base}/{locked}/{pool}"
    return None


_NOT_FOUND = re.compile(r"Version '([^']+)' for '([^']+)' was not found")


def not_found(output: str) -> list[tuple[str, str]]:
    """(package, version) of every pin apt said it cannot find."""
    return [(m.group(2), m.group(1)) for m in _NOT_FOUND.finditer(output)]


def not_served(preset: str, stage: str, lock: SystemLock, missing: list[tuple[str, str]]) -> str:
    """The one line for pinned versions the archive no longer serves."""
    by = {(d.package, d.version): d for d in lock.stage(stage).debs}
    missing = list(dict.fromkeys(missing))  # apt names a missing pin once per line that wants it
    parts = []
    for pkg, ver in missing[:3]:
        d = by.get((pkg, ver))
        url = d.url if d else "?"
        snap = snapshot_url(url, lock.locked) if d else None
        parts.append(f"{pkg} {ver} ({url}; a snapshot archive could serve it: {snap})" if snap else f"{pkg} {ver} ({url}; no known snapshot archive for it)")
    more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
    return (
        f"locks/{preset}{SUFFIX}: {stage}: the archive no longer serves {'; '.join(parts)}{more}; "
        f"re-lock with: inv lock --preset {preset} --only system --upgrade"
    )


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
