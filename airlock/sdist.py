"""Pins that ship only an sdist: their build dependencies' lock, their provenance, the install lock.

A pin of ``locks/<preset>.txt`` with no wheel for the target but a locked sdist is built
into a wheel on the connected side (``inv sync``, :mod:`airlock.sdist_build`), inside a
container of the preset's builder base, with no network. This module holds the pure
parts: the formats and the decisions.

The build-deps lock, ``locks/<preset>.build.txt`` (committed beside the lock)
    Written by ``inv lock`` whenever it writes a lock that has such pins; checked by
    ``inv lock --check``, ``inv sync`` and ``inv verify``. pip-tools format (hashed pins of
    the union of the sdists' ``[build-system] requires``, resolved with the same engine for
    the same target), with airlock's header and, per sdist it serves, one line
    ``# airlock-sdist: {"name", "version", "sha256", "requires"}``. Two digests guard it:
    ``airlock-input-digest`` covers the target, the index and those sdist lines;
    ``airlock-pins-sha256`` covers its pins and hashes, so a hand-edited hash is caught
    offline (and, were both edited, pip's ``--require-hashes`` and the download's sha256
    check catch it before any build runs).

The provenance record, ``builds/<name>-<version>.provenance.json`` (in the store)
    For each built wheel: the sdist (file name, sha256, URL), the sha256 of the build-deps
    lock and the build dependencies installed, the builder base's image id and the sha256
    of the builder's ``.deb`` index, the target, ``SOURCE_DATE_EPOCH``, and the wheel (file
    name, sha256, size). No times: a reproduced build writes the same bytes.

The install lock, ``builds/install-lock.txt`` (in the store)
    The committed lock with each built pin's hashes replaced by its wheel's sha256 (from
    its record): what the offline ``pip install --no-index --require-hashes
    --only-binary=:all:`` reads. Derived by sync; verify derives it again from the
    committed lock and the records and reports any difference.
"""

from __future__ import annotations

import json
import re
import tarfile
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from airlock import lockfile
from airlock.errors import InputError
from airlock.fsutil import read_input_text, sha256_bytes
from airlock.lockfile import Lockfile, Pin
from airlock.store import layout
from airlock.target import Target

BUILD_LOCK_SUFFIX = ".build.txt"
#: pip's own default when an sdist has no ``[build-system]`` (PEP 517/518: setuptools' legacy backend)
DEFAULT_REQUIRES = ("setuptools>=40.8.0",)
#: the oldest time a zip (wheel) can hold: 1980-01-01
ZIP_EPOCH = 315532800
SCHEMA = 1

_SDIST_LINE = re.compile(r"^# airlock-sdist: (\{.*\})$")
_PINS_LINE = re.compile(r"^# airlock-pins-sha256: ([0-9a-f]{64})$")
_SHA = re.compile(r"^[0-9a-f]{64}$")


def build_lock_path(locks_dir: Path, preset: str) -> Path:
    return locks_dir / f"{preset}{BUILD_LOCK_SUFFIX}"


# ------------------------------------------------------------------ the build-deps lock


@dataclass(frozen=True)
class SdistEntry:
    """One sdist the build-deps lock serves: the pin it builds and its build requirements."""

    name: str
    version: str
    sha256: str
    requires: tuple[str, ...]

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    def line(self) -> str:
        data = {"name": self.name, "version": self.version, "sha256": self.sha256, "requires": list(self.requires)}
        return "# airlock-sdist: " + json.dumps(data, sort_keys=True, separators=(",", ":"))


@dataclass(frozen=True)
class BuildLock:
    lock: Lockfile  # preset, engine, target, input digest, index, the build dependencies' pins
    sdists: tuple[SdistEntry, ...]
    pins_sha256: str  # as recorded in the header

    def sdist_for(self, pin: Pin) -> SdistEntry | None:
        return next((s for s in self.sdists if s.key == pin.key and s.version == pin.version and s.sha256 in pin.hashes), None)


def build_input_digest(preset: str, target: str, index_url: str, sdists: tuple[SdistEntry, ...]) -> str:
    doc = {
        "schema": SCHEMA,
        "preset": preset,
        "target": target,
        "index_url": index_url,
        "sdists": [{"name": s.key, "version": s.version, "sha256": s.sha256, "requires": list(s.requires)} for s in sorted(sdists, key=lambda s: s.key)],
    }
    return "sha256:" + sha256_bytes(json.dumps(doc, sort_keys=True, separators=(",", ":")).encode())


def pins_sha256(pins: tuple[Pin, ...]) -> str:
    """sha256 of the pins as pip reads them (requirement and hashes; comments left out)."""
    text = "".join(p.requirement + "".join(f" --hash=sha256:{h}" for h in p.hashes) + "\n" for p in sorted(pins, key=lambda p: p.key))
    return sha256_bytes(text.encode())


def make_build_lock(preset: str, engine: str, target: str, index_url: str, sdists: tuple[SdistEntry, ...], pins: tuple[Pin, ...]) -> BuildLock:
    sdists = tuple(sorted(sdists, key=lambda s: s.key))
    lock = Lockfile(preset=preset, engine=engine, target=target, input_digest=build_input_digest(preset, target, index_url, sdists), index_url=index_url, pins=pins)
    return BuildLock(lock, sdists, pins_sha256(lock.pins))


def render_build_lock(bl: BuildLock) -> str:
    text = lockfile.render(bl.lock)
    head, sep, rest = text.partition("#\n--index-url ")
    names = ", ".join(f"{s.name}=={s.version}" for s in bl.sdists)
    extra = [
        f"# airlock-pins-sha256: {bl.pins_sha256}",
        f"# the build dependencies of {names} (they ship only an sdist for this target);",
        "# inv sync installs them with --require-hashes in the builder base, with no network.",
        *(s.line() for s in bl.sdists),
    ]
    text = head + "\n".join(extra) + "\n" + sep + rest
    return text.replace(f"# To update, run:\n#\n#    inv lock --preset {bl.lock.preset}\n", f"# To update, run:\n#\n#    inv lock --preset {bl.lock.preset}   (writes {bl.lock.preset}.txt and this file)\n", 1)


def parse_build_lock(text: str, source: str) -> BuildLock:
    lock = lockfile.parse(text, source)
    sdists: list[SdistEntry] = []
    recorded = ""
    for n, line in enumerate(text.splitlines(), 1):
        if m := _PINS_LINE.match(line):
            recorded = m.group(1)
        elif m := _SDIST_LINE.match(line):
            try:
                d = json.loads(m.group(1))
                entry = SdistEntry(d["name"], d["version"], d["sha256"], tuple(d["requires"]))
                if not all(isinstance(x, str) for x in (entry.name, entry.version, entry.sha256, *entry.requires)) or not _SHA.match(entry.sha256):
                    raise ValueError("a field has the wrong type")
            except (ValueError, KeyError, TypeError) as exc:
                raise InputError(f"{source}: line {n}: malformed airlock-sdist line ({exc}); run: inv lock --preset {lock.preset}") from None
            sdists.append(entry)
    if not recorded:
        raise InputError(f"{source}: no airlock-pins-sha256 line (not a build-deps lock); run: inv lock --preset {lock.preset}")
    if not sdists:
        raise InputError(f"{source}: serves no sdist (no airlock-sdist line); run: inv lock --preset {lock.preset}")
    return BuildLock(lock, tuple(sorted(sdists, key=lambda s: s.key)), recorded)


def read_build_lock(path: Path) -> BuildLock | None:
    """The build-deps lock at ``path``, or None when there is none."""
    if not path.exists() and not path.is_symlink():
        return None
    return parse_build_lock(read_input_text(path), str(path))


def check_build_lock(bl: BuildLock, main: Lockfile, source: str) -> list[str]:
    """Why the build-deps lock cannot be used with ``main`` (pure; empty when it can).

    ================================================  ======================================
    the build-deps lock                               problem
    ================================================  ======================================
    its pins or hashes differ from airlock-pins-sha256  edited by hand
    its input digest differs from its sdist lines,    edited by hand
      target and index
    another target or preset than the lock's          stale
    an sdist line the lock no longer pins             stale (the lock moved)
    (version, or the sdist's sha256 not the pin's)
    ================================================  ======================================
    """
    fix = f"run: inv lock --preset {main.preset}"
    out = []
    got = pins_sha256(bl.lock.pins)
    if got != bl.pins_sha256:
        out.append(f"{source}: its pins or hashes were changed after inv lock wrote them (airlock-pins-sha256 {bl.pins_sha256[:12]}…, the pins give {got[:12]}…); restore it from git, or {fix}")
    if bl.lock.input_digest != build_input_digest(bl.lock.preset, bl.lock.target, bl.lock.index_url, bl.sdists):
        out.append(f"{source}: its header or airlock-sdist lines were changed after inv lock wrote them; restore it from git, or {fix}")
    if bl.lock.target != main.target or bl.lock.preset != main.preset:
        out.append(f"{source}: locked for {bl.lock.preset} ({bl.lock.target}), the lock is {main.preset} ({main.target}); {fix}")
    pins = main.by_key()
    for s in bl.sdists:
        pin = pins.get(s.key)
        if pin is None or pin.version != s.version or s.sha256 not in pin.hashes:
            out.append(f"{source}: locks the build of {s.name}=={s.version} (sdist sha256 {s.sha256[:12]}…), which locks/{main.preset}.txt no longer pins; {fix}")
    return out


# ------------------------------------------------------------------- reading an sdist


def _scan(archive: Path) -> tuple[int, int, str | None, bytes | None]:
    """(files, newest mtime, name and bytes of the top-level ``pyproject.toml``) of a .tar.gz or .zip sdist."""
    count, newest, name, data = 0, 0, None, None

    def top_pyproject(path: str) -> bool:
        parts = PurePosixPath(path).parts
        return len(parts) == 2 and parts[1] == "pyproject.toml"

    if archive.name.endswith(".zip"):
        import calendar

        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                if info.is_dir():
                    continue
                count += 1
                newest = max(newest, calendar.timegm((*info.date_time, 0, 0, 0)))
                if top_pyproject(info.filename):
                    name, data = info.filename, zf.read(info)
        return count, newest, name, data
    with tarfile.open(archive, "r:*") as tf:
        for m in tf.getmembers():
            if not m.isfile():
                continue
            count += 1
            newest = max(newest, int(m.mtime))
            if top_pyproject(m.name):
                fh = tf.extractfile(m)
                name, data = m.name, fh.read() if fh is not None else b""
    return count, newest, name, data


def read_sdist(archive: Path, where: str) -> tuple[tuple[str, ...], int]:
    """The build requirements (``[build-system] requires`` of its top ``pyproject.toml``, else
    pip's default) and the ``SOURCE_DATE_EPOCH`` of an sdist: its newest member's time.

    ``where`` names the sdist in errors (an unreadable archive or pyproject is InputError).
    """
    import tomllib

    try:
        count, newest, name, raw = _scan(archive)
    except (OSError, tarfile.TarError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError(f"{where}: not a readable sdist ({exc})") from None
    if not count:
        raise InputError(f"{where}: an empty sdist")
    epoch = max(ZIP_EPOCH, newest)
    if raw is None:
        return DEFAULT_REQUIRES, epoch
    try:
        data = tomllib.loads(raw.decode())
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{where}: {name}: not valid TOML ({exc})") from None
    bs = data.get("build-system")
    if not isinstance(bs, dict) or "requires" not in bs:
        return DEFAULT_REQUIRES, epoch
    reqs = bs["requires"]
    if not isinstance(reqs, list) or not all(isinstance(r, str) for r in reqs):
        raise InputError(f"{where}: {name}: build-system.requires is not a list of strings")
    for r in reqs:
        try:
            Requirement(r)
        except InvalidRequirement as exc:
            raise InputError(f"{where}: {name}: build-system.requires: {r!r}: {exc}") from None
    return tuple(reqs), epoch


# ------------------------------------------------------------------ the provenance record


@dataclass(frozen=True)
class Provenance:
    name: str
    version: str
    sdist_filename: str
    sdist_sha256: str
    sdist_url: str
    build_lock_sha256: str
    build_deps: tuple[str, ...]  # name==version of each build dependency installed
    builder_image: str
    builder_id: str
    builder_debs_sha256: str  # sha256 of debs/builder/Packages
    target: str
    source_date_epoch: int
    wheel_filename: str
    wheel_sha256: str
    wheel_size: int

    @property
    def key(self) -> str:
        return canonicalize_name(self.name)

    @property
    def rel(self) -> str:
        return layout.provenance(self.key, self.version)


def render_provenance(p: Provenance) -> str:
    data = {
        "schema": SCHEMA,
        "name": p.name,
        "version": p.version,
        "sdist": {"filename": p.sdist_filename, "sha256": p.sdist_sha256, "url": p.sdist_url},
        "build_lock": {"sha256": p.build_lock_sha256, "installed": list(p.build_deps)},
        "builder": {"image": p.builder_image, "id": p.builder_id, "debs_packages_sha256": p.builder_debs_sha256},
        "target": p.target,
        "source_date_epoch": p.source_date_epoch,
        "wheel": {"filename": p.wheel_filename, "sha256": p.wheel_sha256, "size": p.wheel_size},
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def parse_provenance(text: str, source: str) -> Provenance:
    """A provenance record; anything malformed is InputError naming ``source`` and the field."""
    try:
        d = json.loads(text)
        if not isinstance(d, dict) or d.get("schema") != SCHEMA:
            raise ValueError(f"not a schema {SCHEMA} record")
        p = Provenance(
            name=d["name"], version=d["version"],
            sdist_filename=d["sdist"]["filename"], sdist_sha256=d["sdist"]["sha256"], sdist_url=d["sdist"]["url"],
            build_lock_sha256=d["build_lock"]["sha256"], build_deps=tuple(d["build_lock"]["installed"]),
            builder_image=d["builder"]["image"], builder_id=d["builder"]["id"], builder_debs_sha256=d["builder"]["debs_packages_sha256"],
            target=d["target"], source_date_epoch=d["source_date_epoch"],
            wheel_filename=d["wheel"]["filename"], wheel_sha256=d["wheel"]["sha256"], wheel_size=d["wheel"]["size"],
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise InputError(f"{source}: malformed provenance record ({type(exc).__name__}: {str(exc)[:120]})") from None
    strs = (p.name, p.version, p.sdist_filename, p.sdist_sha256, p.sdist_url, p.build_lock_sha256, p.builder_image, p.builder_id,
            p.builder_debs_sha256, p.target, p.wheel_filename, p.wheel_sha256, *p.build_deps)  # fmt: skip
    if not all(isinstance(x, str) for x in strs):
        raise InputError(f"{source}: malformed provenance record (a field is not a string)")
    if any(isinstance(x, bool) or not isinstance(x, int) or x < 0 for x in (p.source_date_epoch, p.wheel_size)):
        raise InputError(f"{source}: malformed provenance record (source_date_epoch or wheel.size is not a non-negative integer)")
    for fld in ("sdist_sha256", "build_lock_sha256", "wheel_sha256"):
        if not _SHA.match(getattr(p, fld)):
            raise InputError(f"{source}: malformed provenance record ({fld} is not 64 lowercase hex digits)")
    for fld in ("sdist_filename", "wheel_filename"):
        name = getattr(p, fld)
        if "/" in name or layout.check_rel(f"{layout.BUILDS}/{name}") is not None:
            raise InputError(f"{source}: malformed provenance record ({fld} is not a plain file name)")
    try:
        wname, wver, _, _ = parse_wheel_filename(p.wheel_filename)
    except InvalidWheelFilename:
        raise InputError(f"{source}: malformed provenance record (wheel.filename is not a wheel's name)") from None
    if wname != p.key or str(wver) != p.version or source.rsplit("/", 1)[-1] != PurePosixPath(p.rel).name:
        raise InputError(f"{source}: the record names {p.name}=={p.version} and {p.wheel_filename}, which do not match its file name")
    return p


# ----------------------------------------------------------------------- decisions


def installs_on(filename: str, target: Target) -> bool:
    """A wheel built in the target's own builder base installs there: its ``linux_<arch>`` tag counts as the target's."""
    from airlock.wheels import usable_on

    if usable_on(filename, target):
        return True
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return False
    native = f"linux_{target.arch}"
    plats = set(target.platform_tags())
    ok = {(t.interpreter, t.abi) for t in target.supported_tags() if t.platform in plats}
    return any(t.platform == native and (t.interpreter, t.abi) in ok for t in tags)


@dataclass(frozen=True)
class BuildInputs:
    """What a built wheel must have been built from to be kept: the current inputs."""

    build_lock_sha256: str | None  # None: no build-deps lock
    builder_id: str | None
    builder_debs_sha256: str | None
    target: str


CURRENT = "current"  # keep the wheel
REPRODUCE = "reproduce"  # same inputs, the wheel is missing or altered: build again, expect the recorded sha256
STALE = "stale"  # other inputs (or another pin): build afresh


def record_state(rec: Provenance, pin: Pin | None, inputs: BuildInputs, wheel_sha: str | None) -> str:
    """Keep a built wheel, build it again expecting the same bytes, or build afresh (pure).

    ==============================================================  ===========
    the record                                                      state
    ==============================================================  ===========
    its pin is not in the lock, another version, or its sdist's      stale
      sha256 is not one of the pin's hashes
    build-deps lock, builder base id, builder .deb index or target   stale
      differ from the current ones
    same inputs, the store's wheel has the recorded sha256           current
    same inputs, the wheel is missing or has another sha256          reproduce
    ==============================================================  ===========
    """
    if pin is None or pin.version != rec.version or rec.sdist_sha256 not in pin.hashes:
        return STALE
    if (rec.build_lock_sha256, rec.builder_id, rec.builder_debs_sha256, rec.target) != (
        inputs.build_lock_sha256, inputs.builder_id, inputs.builder_debs_sha256, inputs.target,
    ):  # fmt: skip
        return STALE
    return CURRENT if wheel_sha == rec.wheel_sha256 else REPRODUCE


def install_lock(main: Lockfile, records: list[Provenance]) -> Lockfile:
    """The committed lock with each built pin's hashes replaced by its wheel's sha256."""
    built = {r.key: r for r in records}
    return replace(main, pins=tuple(replace(p, hashes=(built[p.key].wheel_sha256,)) if p.key in built else p for p in main.pins))


def render_install_lock(main: Lockfile, records: list[Provenance]) -> str:
    names = ", ".join(f"{r.name}=={r.version}" for r in sorted(records, key=lambda r: r.key))
    head = (
        f"# Derived by inv sync from locks/{main.preset}.txt and builds/*{layout.PROVENANCE}: the wheels built\n"
        f"# from sdists ({names}) are pinned by their own sha256 in place of the sdists'. Do not edit;\n"
        "# inv verify derives it again and reports any difference.\n"
    )
    return head + lockfile.render(install_lock(main, records))


def provenance_findings(
    main: Lockfile,
    records: dict[str, Provenance | str],
    listed: dict[str, str],
    inputs: BuildInputs,
    install_lock_text: str | None,
    target: Target,
) -> list[tuple[str, str, str]]:
    """The store's built wheels against the committed locks (pure): (code, path, message) per finding.

    ``records`` maps each listed ``builds/*.provenance.json`` to its record, or to why it
    could not be read; ``listed`` is the manifest (path -> sha256, bytes checked elsewhere).

    ================================================================  ==============
    in the store                                                      code
    ================================================================  ==============
    a record that cannot be read                                      malformed
    a record whose sdist the lock does not pin (name, version, hash)  provenance
    a record's sdist not in builds/ with the recorded sha256          provenance
    a record's wheel not in wheels/                                   missing
    the wheel's sha256 is not the recorded one                        provenance
    the wheel's tags do not install on the target                     provenance
    built with another build-deps lock, builder base or .deb index    stale-build
    builds/install-lock.txt absent though wheels were built, or       install-lock
      not the committed lock with the recorded wheels' hashes
    builds/install-lock.txt present though no wheel was built         install-lock
    ================================================================  ==============
    """
    out: list[tuple[str, str, str]] = []
    fix = f"run: inv sync --preset {main.preset}"
    pins = main.by_key()
    good: list[Provenance] = []
    for rel, rec in sorted(records.items()):
        if isinstance(rec, str):
            out.append(("malformed", rel, rec))
            continue
        pin = pins.get(rec.key)
        if pin is None or pin.version != rec.version or rec.sdist_sha256 not in pin.hashes:
            out.append(("provenance", rel, f"built from {rec.sdist_filename} (sha256 {rec.sdist_sha256}), which locks/{main.preset}.txt does not pin; {fix}"))
            continue
        good.append(rec)
        sdist_rel = layout.sdist(rec.sdist_filename)
        if listed.get(sdist_rel) != rec.sdist_sha256:
            out.append(("provenance", sdist_rel, f"the sdist {rel} was built from is {'absent' if sdist_rel not in listed else 'another file (sha256 ' + listed[sdist_rel] + ')'}; {fix}"))
        wheel_rel = layout.wheel(rec.wheel_filename)
        got = listed.get(wheel_rel)
        if got is None:
            out.append(("missing", wheel_rel, f"the wheel {rel} records is not in the store; {fix}"))
        elif got != rec.wheel_sha256:
            out.append(("provenance", wheel_rel, f"differs from what was recorded when it was built: sha256 {got}, {rel} says {rec.wheel_sha256}; {fix} (a build that does not reproduce fails there)"))
        if not installs_on(rec.wheel_filename, target):
            out.append(("provenance", wheel_rel, f"does not install on {target.label}"))
        if rec.build_lock_sha256 != inputs.build_lock_sha256:
            out.append(("stale-build", rel, f"built with other build dependencies than locks/{main.preset}{BUILD_LOCK_SUFFIX} ({'absent' if inputs.build_lock_sha256 is None else 'sha256 ' + inputs.build_lock_sha256[:12] + '…'}); {fix}"))
        if (rec.builder_id, rec.builder_debs_sha256) != (inputs.builder_id, inputs.builder_debs_sha256) and inputs.builder_id is not None:
            out.append(("stale-build", rel, f"built in another builder base or .deb set (base {rec.builder_id[:19]}, the store's {inputs.builder_id[:19]}); {fix}"))
        if rec.target != inputs.target:
            out.append(("stale-build", rel, f"built for {rec.target}, the preset's target is {inputs.target}; {fix}"))
    il = layout.install_lock()
    if good:
        want = render_install_lock(main, good)
        if install_lock_text is None:
            out.append(("install-lock", il, f"absent, though the store holds wheels built from sdists; {fix}"))
        elif install_lock_text != want:
            out.append(("install-lock", il, f"is not locks/{main.preset}.txt with the recorded wheels' sha256 in place of their sdists'; {fix}"))
    elif install_lock_text is not None and not records:
        out.append(("install-lock", il, f"present, though the store holds no wheel built from an sdist; {fix}"))
    return out


def built_wheel_hashes(main: Lockfile, records: dict[str, Provenance | str]) -> dict[str, str]:
    """pin key -> sha256 of its built wheel, for the records whose sdist the lock pins (verify's coverage)."""
    pins = main.by_key()
    out = {}
    for rec in records.values():
        if isinstance(rec, Provenance):
            pin = pins.get(rec.key)
            if pin is not None and pin.version == rec.version and rec.sdist_sha256 in pin.hashes:
                out[rec.key] = rec.wheel_sha256
    return out


# ----------------------------------------------------------------- a failed build's cause


_CAUSES: tuple[tuple[str, str], ...] = (
    (r"fatal error: Python\.h: No such file or directory", "missing header Python.h: add python{py}-dev to the preset's apt.build"),
    (r"fatal error: ([\w./+-]+\.h): No such file or directory", "missing header {0}: add the -dev package that provides it to the preset's apt.build"),
    (r"error: command '([^']+)' failed: No such file or directory", "missing tool {0}: add the package that provides it (gcc, g++, ...) to the preset's apt.build"),
    (r"(?:^|\s)([\w.+-]+): (?:command )?not found", "missing tool {0}: add the package that provides it to the preset's apt.build"),
    (r"unable to execute '([^']+)': No such file or directory", "missing tool {0}: add the package that provides it to the preset's apt.build"),
    (r"ModuleNotFoundError: No module named '([\w.]+)'", "the build imports {0}, which the build-deps lock does not hold (a build requirement the sdist does not declare statically)"),
    (r"ERROR: Could not find a version that satisfies the requirement ([^\s]+)", "the build asked for {0}, which the build-deps lock does not hold"),
    (r"THESE PACKAGES DO NOT MATCH THE HASHES", "a build dependency does not match the build-deps lock's hash"),
)


def diagnose(log: str, python_version: str) -> str | None:
    """Which header, tool or module a failed build lacked, read off its log (pure)."""
    for pattern, template in _CAUSES:
        m = re.search(pattern, log, re.MULTILINE)
        if m:
            return template.format(*m.groups(), py=python_version)
    return None


def log_tail(log: str, lines: int = 6) -> str:
    """The last non-empty lines of a build log, as one line."""
    keep = [ln.strip() for ln in log.splitlines() if ln.strip()][-lines:]
    return " | ".join(ln if len(ln) <= 200 else ln[:199] + "…" for ln in keep)


def read_records(texts: dict[str, str]) -> dict[str, Provenance | str]:
    """Parse provenance records (store path -> text); a bad one maps to its one-line problem."""
    out: dict[str, Provenance | str] = {}
    for rel, text in texts.items():
        try:
            out[rel] = parse_provenance(text, rel)
        except InputError as exc:
            out[rel] = str(exc)
    return out
