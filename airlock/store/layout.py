"""The one owner of the store's layout: folder and file names, the ``.part`` rule, confinement.

``artifacts/<preset>/`` holds::

    wheels/<wheel file>                    one per pin, for the preset's target
    debs/<stage>/<deb file>, Packages      per stage (builder, runtime), an offline apt repository
    debs/<stage>/inputs.json               what that stage's set was resolved from
    sources/<archive>                      FFmpeg/OpenCV/TensorRT archives, by the preset's sha256
    images/<ref>.tar                       the base images, ``docker save`` format
    builds/<sdist file>                    a pin that ships only an sdist: the sdist, by the lock's sha256
    builds/<name>-<version>.provenance.json  what its wheel (in wheels/) was built from
    builds/install-lock.txt                the lock pip installs from when wheels were built
                                           (the committed lock, the built wheels' hashes in place of the sdists')
    prebuilt/<part>-<key>.tar              a compiled part (ffmpeg, opencv) as ``inv prebuild`` exported it
                                           from the builder's /opt/<part>: plain tar, one folder <part>/
    prebuilt/<part>-<key>.inputs.json      the inputs its key is the sha256 of (see :mod:`airlock.prebuilt`)
    manifest.json, SHA256SUMS              the index (never listed in itself)

and beside it ``artifacts/.<preset>.lock``, the writer lock: outside the folder, so the
folder a site carries holds exactly what its index lists.

A download in progress is ``<name>.part`` beside its final name; it is never listed, and
sync keeps it so the next run resumes it.

Every path the index names is store-relative, normal (no ``.``/``..``, no empty part, no
leading ``/``), in one of the folders above, printable (no control characters) and not
reached through a symlink: :func:`check_rel` says why one is not. :func:`walk` lists what
is really on disk without following symlinks, so nothing outside the store is read.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

WHEELS = "wheels"
DEBS = "debs"
SOURCES = "sources"
IMAGES = "images"
BUILDS = "builds"
PREBUILT = "prebuilt"
#: the folders inv sync fills, one phase each
SYNCED = (IMAGES, DEBS, WHEELS, SOURCES, BUILDS)
#: every folder of the store: prebuilt/ is written by inv prebuild, kept (and re-indexed as it was) by inv sync
FOLDERS = (*SYNCED, PREBUILT)

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
INDEX_FILES = (MANIFEST, SUMS)
#: Files at the store root that belong to airlock itself, not to its content.
OWN_FILES = INDEX_FILES

PART = ".part"
KINDS = ("wheel", "deb", "deb-index", "source", "image", "sdist", "provenance", "install-lock", "prebuilt", "prebuilt-inputs", "other")
#: the suffix of a provenance record in builds/
PROVENANCE = ".provenance.json"
#: the derived lock in builds/ that the offline install reads when the store holds built wheels
INSTALL_LOCK = "install-lock.txt"
#: the suffixes of a prebuilt part's archive and of the record of its inputs, in prebuilt/
PREBUILT_ARCHIVE = ".tar"
PREBUILT_INPUTS = ".inputs.json"
_PREBUILT = re.compile(r"^([a-z][a-z0-9]*)-([0-9a-f]{64})(\.tar|\.inputs\.json)$")

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_REL = 1024


def lock_file(store: Path) -> Path:
    """The writer lock of ``store``: ``artifacts/.<preset>.lock``."""
    return store.parent / f".{store.name}.lock"


def wheel(filename: str) -> str:
    return f"{WHEELS}/{filename}"


def source(filename: str) -> str:
    return f"{SOURCES}/{filename}"


def image(tar_name: str) -> str:
    return f"{IMAGES}/{tar_name}"


def sdist(filename: str) -> str:
    """Where the sdist of a built pin is kept: ``builds/<sdist file>``."""
    return f"{BUILDS}/{filename}"


def provenance(key: str, version: str) -> str:
    """The provenance record of the wheel built for ``key==version``: ``builds/<key>-<version>.provenance.json``."""
    return f"{BUILDS}/{key}-{version}{PROVENANCE}"


def install_lock() -> str:
    return f"{BUILDS}/{INSTALL_LOCK}"


def prebuilt_archive(part: str, key: str) -> str:
    """A prebuilt part's archive, named by its key: ``prebuilt/<part>-<key>.tar``."""
    return f"{PREBUILT}/{part}-{key}{PREBUILT_ARCHIVE}"


def prebuilt_inputs(part: str, key: str) -> str:
    """The inputs a prebuilt part's key was made from: ``prebuilt/<part>-<key>.inputs.json``."""
    return f"{PREBUILT}/{part}-{key}{PREBUILT_INPUTS}"


def parse_prebuilt(rel: str) -> tuple[str, str, str] | None:
    """``(part, key, "archive"|"inputs")`` of a store path in prebuilt/, or None when it is no such name."""
    if folder_of(rel) != PREBUILT or rel.count("/") != 1:
        return None
    m = _PREBUILT.match(rel.split("/", 1)[1])
    if m is None:
        return None
    return m.group(1), m.group(2), "archive" if m.group(3) == PREBUILT_ARCHIVE else "inputs"


def deb_dir(stage: str) -> str:
    return f"{DEBS}/{stage}"


def deb_file(stage: str, filename: str) -> str:
    """A ``Filename:`` of a stage's ``Packages`` index (``./x.deb``) as a store path."""
    return f"{DEBS}/{stage}/{filename.removeprefix('./')}"


def deb_packages(stage: str) -> str:
    return f"{DEBS}/{stage}/Packages"


def deb_inputs(stage: str) -> str:
    return f"{DEBS}/{stage}/inputs.json"


def folder_of(rel: str) -> str:
    """The top folder of a store path (``wheels`` for ``wheels/x.whl``)."""
    return rel.split("/", 1)[0]


def part_of(dest: Path) -> Path:
    """Where a download to ``dest`` keeps its bytes until their hash matches."""
    return dest.with_name(dest.name + PART)


def is_part(name: str) -> bool:
    return name.endswith(PART)


def check_rel(rel: str) -> str | None:
    """Why ``rel`` cannot be a path in the store's index, or None when it can (pure: no I/O)."""
    if not rel:
        return "empty path"
    if len(rel) > MAX_REL:
        return f"path longer than {MAX_REL} characters"
    if _CONTROL.search(rel):
        return "control character in path"
    if rel.startswith("/") or "\\" in rel:
        return "not a relative POSIX path"
    parts = rel.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "not a normal path ('', '.' or '..' part)"
    if len(parts) < 2 or parts[0] not in FOLDERS:
        return f"not inside one of {', '.join(f + '/' for f in FOLDERS)}"
    if is_part(parts[-1]):
        return "a download in progress (*.part) is never indexed"
    return None


def printable(rel: str) -> str:
    """``rel`` safe for one line of output: control characters escaped."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", rel)


@dataclass
class Listing:
    """What is really in a store: indexable regular files, downloads in progress, and strays.

    ``strays`` are (path, why): symlinks, devices, sockets, files at the root that
    are not airlock's own, names with control characters (print them with :func:`printable`).
    They are reported, never adopted.
    """

    files: dict[str, Path] = field(default_factory=dict)
    parts: list[str] = field(default_factory=list)
    strays: list[tuple[str, str]] = field(default_factory=list)


def walk(store: Path) -> Listing:
    """List ``store`` without following any symlink (so nothing outside it is read)."""
    out = Listing()
    if not store.is_dir() or store.is_symlink():
        return out
    for dirpath, dirnames, filenames in os.walk(store, followlinks=False):
        base = Path(dirpath)
        rel_dir = base.relative_to(store).as_posix()
        for d in list(dirnames):
            p = base / d
            if p.is_symlink():
                dirnames.remove(d)
                out.strays.append((_join(rel_dir, d), "symlink (to a folder)"))
        for name in filenames:
            rel = _join(rel_dir, name)
            p = base / name
            try:
                mode = os.lstat(p).st_mode
            except OSError:
                continue  # vanished while listing
            if rel_dir == "." and name in OWN_FILES:
                continue
            if stat.S_ISLNK(mode):
                out.strays.append((rel, "symlink"))
            elif not stat.S_ISREG(mode):
                out.strays.append((rel, "not a regular file"))
            elif is_part(name) and check_rel(rel[: -len(PART)]) is None:
                out.parts.append(rel)
            elif (why := check_rel(rel)) is not None:
                out.strays.append((rel, why))
            else:
                out.files[rel] = p
    out.parts.sort()
    out.strays.sort()
    return out


def _join(rel_dir: str, name: str) -> str:
    return name if rel_dir == "." else f"{rel_dir}/{name}"


def resolve(store: Path, rel: str) -> Path:
    """``store / rel`` for a path :func:`check_rel` accepts; raises ValueError otherwise (a caller's bug)."""
    why = check_rel(rel)
    if why is not None:
        raise ValueError(f"{printable(rel)}: {why}")
    return store.joinpath(*PurePosixPath(rel).parts)
