"""Prebuilt parts: FFmpeg and OpenCV compiled once, carried in the store, keyed by their inputs.

``inv prebuild`` builds the deps images as ``inv build`` does (compiling), then exports each
compiled part the preset has (``/opt/ffmpeg``, ``/opt/opencv``) from the builder image into
``artifacts/<preset>/prebuilt/<part>-<key>.tar`` (plain tar, one folder ``<part>/``), with the
inputs the key was made from beside it (``<part>-<key>.inputs.json``), both listed in the
store's index like every other file.

The **key** of a part is the sha256 of a canonical JSON (sorted keys, no spaces) of its inputs
(:func:`part_inputs`): the part's name; its source archives (file name and sha256, from the
preset); its ``config/<part>/`` files exactly as :mod:`airlock.build` writes them (archive
paths, configure/CMake flags, OpenCV's ``python.cmake`` and numpy line); the sha256 of the
script that builds it (``docker/build-<part>``); the Python version the builder has; the
builder base's pin and the builder's .deb set (package, version, arch, sha256 each) from the
committed system lock; for OpenCV also FFmpeg's key (its videoio links that FFmpeg) and, with
Python bindings, the locked numpy's sha256s.

``inv build`` computes the keys of the preset's current inputs and takes the parts prebuilt
(``PARTS=parts-prebuilt``) only when *every* compiled part the preset has is in the store
under its current key; otherwise it compiles them all and says why (:func:`decide_parts`).
A mixed case (FFmpeg's key matches, OpenCV's does not) compiles both: OpenCV's compile step
sits on FFmpeg's in the Dockerfile, and BuildKit's cache usually still holds FFmpeg's there.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airlock.errors import AirlockError, InputError
from airlock.fsutil import read_input_text, sha256_bytes
from airlock.store import layout

if TYPE_CHECKING:
    from airlock.presets import Preset
    from airlock.project import Project
    from airlock.runner import Runner
    from airlock.syslock import SystemLock

#: The compiled parts, in build order (TensorRT is unpacked from its tar, not compiled: never prebuilt).
PARTS = ("ffmpeg", "opencv")
#: The schema of the inputs record; a new schema makes every key new.
SCHEMA = 1
#: The Dockerfile stages ``inv build`` picks between with the build argument PARTS.
STAGE = {"compiled": "parts-compiled", "prebuilt": "parts-prebuilt"}


@dataclass(frozen=True)
class PartInputs:
    """One part's inputs (plain JSON data) and the key made from them."""

    part: str
    inputs: dict[str, Any]

    @property
    def key(self) -> str:
        return part_key(self.inputs)


def canonical(inputs: Mapping[str, Any]) -> bytes:
    """The bytes a key is the sha256 of: JSON, sorted keys, no whitespace, ASCII."""
    return json.dumps(inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def part_key(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical(inputs)).hexdigest()


def render_inputs(inputs: Mapping[str, Any]) -> str:
    """The inputs record written beside an archive (readable; its key is :func:`part_key` of the parsed data)."""
    return json.dumps(inputs, indent=2, sort_keys=True) + "\n"


def part_inputs(
    part: str,
    *,
    sources: Mapping[str, str],
    config: Mapping[str, bytes],
    script: bytes,
    python: str,
    system_lock: "SystemLock",
    depends: Mapping[str, str] | None = None,
    numpy: tuple[str, ...] = (),
) -> PartInputs:
    """Every input of ``part`` as plain data (pure). ``sources``: file name -> sha256; ``config``:
    the part's ``config/<part>/<name>`` files -> bytes; ``depends``: part -> key of a part it links."""
    builder = system_lock.stage("builder")
    data: dict[str, Any] = {
        "schema": SCHEMA,
        "part": part,
        "sources": dict(sorted(sources.items())),
        "config": {k: v.decode() for k, v in sorted(config.items())},
        "script": sha256_bytes(script),
        "python": python,
        "platform": system_lock.platform,
        "builder_base": builder.base.model_dump(mode="json", exclude_defaults=False),
        "builder_debs": sorted(
            ({"package": d.package, "version": d.version, "arch": d.arch, "sha256": d.sha256} for d in builder.debs),
            key=lambda d: (d["package"], d["arch"], d["version"]),
        ),
        "depends": dict(sorted((depends or {}).items())),
        "numpy": sorted(numpy),
    }
    return PartInputs(part, data)


def changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """Which top-level inputs differ between two records (pure), for the message of a key miss.

    A changed ``config`` names the files (``config: flags.txt``); a changed .deb set names up to
    three packages that moved.
    """
    out: list[str] = []
    for k in sorted(set(old) | set(new)):
        a, b = old.get(k), new.get(k)
        if a == b:
            continue
        if k == "config" and isinstance(a, dict) and isinstance(b, dict):
            out.append("config: " + ", ".join(sorted(n for n in set(a) | set(b) if a.get(n) != b.get(n))))
        elif k == "builder_debs" and isinstance(a, list) and isinstance(b, list):
            sa = {json.dumps(d, sort_keys=True) for d in a}
            sb = {json.dumps(d, sort_keys=True) for d in b}
            moved = sorted({json.loads(d).get("package", "?") for d in sa ^ sb})
            out.append("builder .debs: " + ", ".join(moved[:3]) + (f" and {len(moved) - 3} more" if len(moved) > 3 else ""))
        else:
            out.append({"builder_base": "builder base", "depends": "the parts it links (their keys)", "script": "its build script"}.get(k, k))
    return out


# ------------------------------------------------------------------ facts, decision


@dataclass(frozen=True)
class Available:
    """A prebuilt part in the store: its archive's path and sha256, and the inputs record beside it (None: absent or unreadable)."""

    part: str
    key: str
    archive: str
    sha256: str
    inputs: dict[str, Any] | None


@dataclass(frozen=True)
class PartsFacts:
    """What :func:`decide_parts` decides on: the preset's current parts and what the store holds."""

    #: part -> its inputs now; empty when the preset has no compiled part
    expected: dict[str, PartInputs]
    #: why no key can be computed (no system lock, ...), or "" when ``expected`` is complete
    unkeyed: str
    #: every prebuilt archive the store's index lists
    available: tuple[Available, ...] = ()


@dataclass(frozen=True)
class PartsDecision:
    mode: str  # "compiled" | "prebuilt"
    why: tuple[str, ...]
    #: the archives to unpack (store paths), in PARTS order; empty when compiling
    archives: tuple[str, ...] = ()
    #: store path -> sha256 of those archives (part of the deps hash)
    sha256: dict[str, str] = field(default_factory=dict)

    def render(self) -> str:
        if self.mode == "prebuilt":
            return "prebuilt (" + ", ".join(a.rsplit("/", 1)[-1][: a.rsplit("/", 1)[-1].index("-") + 13] + "…" for a in self.archives) + ")"
        return "compiled" + (f" ({'; '.join(self.why)})" if self.why else "")


def decide_parts(facts: PartsFacts, no_prebuilt: bool) -> PartsDecision:
    """Take the compiled parts prebuilt, or compile them (pure).

    =====================================================  ===========================================
    facts                                                  decision
    =====================================================  ===========================================
    the preset has no compiled part                        compiled (nothing to take; no reason given)
    ``--no-prebuilt``                                      compiled: "--no-prebuilt"
    no key can be computed (no system lock)                compiled: why
    no prebuilt part in the store at all                   compiled (no reason given: the usual case)
    a part has no archive under any key                    compiled: "<part>: none in prebuilt/"
    a part's archives all have other keys                  compiled: "<part>: prebuilt/<name> was made
                                                           from other inputs (<which changed>)"
    every part has an archive under its current key        prebuilt: those archives
    =====================================================  ===========================================

    One part that misses compiles every part (mixed cases are not unpacked half-and-half).
    """
    if not facts.expected:
        return PartsDecision("compiled", ())
    if no_prebuilt:
        return PartsDecision("compiled", ("--no-prebuilt",))
    if facts.unkeyed:
        return PartsDecision("compiled", (facts.unkeyed,))
    if not facts.available:
        return PartsDecision("compiled", ())
    why: list[str] = []
    chosen: list[Available] = []
    for part in PARTS:
        want = facts.expected.get(part)
        if want is None:
            continue
        mine = [a for a in facts.available if a.part == part]
        hit = next((a for a in mine if a.key == want.key), None)
        if hit is not None:
            chosen.append(hit)
            continue
        if not mine:
            why.append(f"{part}: none in {layout.PREBUILT}/")
            continue
        # name what changed against the newest-looking record (any one of them: all miss)
        a = mine[0]
        what = changed(a.inputs, want.inputs) if a.inputs is not None else ["its inputs record is missing"]
        why.append(f"{part}: {a.archive} was made from other inputs ({'; '.join(what) or 'the key differs'})")
    if why:
        return PartsDecision("compiled", tuple(why))
    return PartsDecision("prebuilt", (), tuple(a.archive for a in chosen), {a.archive: a.sha256 for a in chosen})


def stale(facts: PartsFacts) -> list[tuple[str, str]]:
    """(archive, why) for each prebuilt archive whose key is not its part's current key (pure; verify's stale-prebuilt)."""
    out: list[tuple[str, str]] = []
    for a in facts.available:
        want = facts.expected.get(a.part)
        if facts.unkeyed:
            out.append((a.archive, facts.unkeyed))
        elif want is None:
            out.append((a.archive, f"the preset has no {a.part} now"))
        elif a.inputs is not None and part_key(a.inputs) != a.key:
            out.append((a.archive, f"its inputs record {layout.prebuilt_inputs(a.part, a.key)} does not hash to its key"))
        elif a.key != want.key:
            what = changed(a.inputs, want.inputs) if a.inputs is not None else ["its inputs record is missing"]
            out.append((a.archive, f"made from other inputs than the preset's now ({'; '.join(what) or 'the key differs'}); inv build compiles {a.part} instead; run inv prebuild to replace it"))
    return out


# ------------------------------------------------------------------ gather


def expected_parts(project: "Project", preset: "Preset") -> tuple[dict[str, PartInputs], str]:
    """The preset's compiled parts and their inputs now, read from the project (the one I/O step), or why there are none."""
    from airlock import build, lockfile, syslock

    have = [p for p in PARTS if getattr(preset, p) is not None]
    if not have:
        return {}, ""
    try:
        lock = syslock.require(project.locks_dir, preset)
    except AirlockError as exc:  # missing, unreadable or stale: no key can be trusted
        return {p: PartInputs(p, {}) for p in have}, f"no key without the system lock ({exc})"
    config = build._config_files(project, preset)  # noqa: SLF001 - the one writer of config/*
    scripts = build._scripts(project)  # noqa: SLF001
    out: dict[str, PartInputs] = {}
    numpy: tuple[str, ...] = ()
    if preset.opencv is not None and preset.opencv.python:
        pin = lockfile.read(project.lock_path(preset.name)).by_key().get("numpy")
        numpy = tuple(pin.hashes) if pin is not None else ()
    for part in have:
        srcs = {src.filename: src.sha256 for fld, src in preset.named_sources if fld.split(".", 1)[0] == part}
        cfg = {k.split("/", 2)[2]: v for k, v in config.items() if k.startswith(f"config/{part}/")}
        script = scripts.get(f"scripts/build-{part}")
        if script is None:
            raise InputError(f"{project.root / 'docker'}/build-{part}: missing (it builds {part})")
        out[part] = part_inputs(
            part,
            sources=srcs,
            config=cfg,
            script=script.read_bytes(),
            python=preset.python.version,
            system_lock=lock,
            depends={"ffmpeg": out["ffmpeg"].key} if part == "opencv" and "ffmpeg" in out else None,
            numpy=numpy if part == "opencv" else (),
        )
    return out, ""


def available(store: Path, listed: Mapping[str, str]) -> tuple[Available, ...]:
    """The prebuilt archives the store's index lists (``listed``: path -> sha256), with their inputs records read."""
    out: list[Available] = []
    for rel in sorted(listed):
        parsed = layout.parse_prebuilt(rel)
        if parsed is None or parsed[2] != "archive":
            continue
        part, key, _ = parsed
        rec_rel = layout.prebuilt_inputs(part, key)
        inputs: dict[str, Any] | None = None
        p = store / rec_rel
        if rec_rel in listed and p.is_file() and not p.is_symlink():
            try:
                raw = json.loads(read_input_text(p))
                inputs = raw if isinstance(raw, dict) else None
            except (InputError, json.JSONDecodeError):
                inputs = None
        out.append(Available(part, key, rel, listed[rel], inputs))
    return tuple(out)


def gather_parts(project: "Project", preset: "Preset", listed: Mapping[str, str]) -> PartsFacts:
    try:
        expected, unkeyed = expected_parts(project, preset)
    except AirlockError as exc:  # e.g. OpenCV's bindings and a lock without numpy: the build says so itself
        expected, unkeyed = {p: PartInputs(p, {}) for p in PARTS if getattr(preset, p) is not None}, f"no key ({exc})"
    return PartsFacts(expected, unkeyed, available(project.artifacts(preset.name), listed))


# ------------------------------------------------------------------ apply: export from a builder image

#: Run in the builder image by :func:`export_part`: tar one /opt/<part> into the bind-mounted store folder,
#: then hand the file to the user running airlock. Arguments: file name, part, uid:gid.
_EXPORT_SH = 'tar --numeric-owner --sort=name -C /opt -cf "/airlock/out/$1" "$2" && chown "$3" "/airlock/out/$1"'


def export_part(image: str, part: str, store: Path, key: str, inputs: Mapping[str, Any], run: "Runner | None" = None) -> tuple[str, str]:
    """Write ``prebuilt/<part>-<key>.tar`` from ``image``'s ``/opt/<part>`` and its inputs record; return (archive path, sha256).

    The archive is written as ``<name>.part`` and renamed only once complete and hashed (the store's ``.part`` rule).
    """
    import os

    from airlock import docker
    from airlock.fsutil import atomic_write_text, sha256_file
    from airlock.runner import run as _run

    run = run or _run
    rel = layout.prebuilt_archive(part, key)
    dest = layout.resolve(store, rel)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part_path = layout.part_of(dest)
    part_path.unlink(missing_ok=True)
    try:
        run([
            docker.client(), "run", "--rm", "--network=none", "-v", f"{dest.parent}:/airlock/out", "--entrypoint", "/bin/sh",
            image, "-euc", _EXPORT_SH, "sh", part_path.name, part, f"{os.getuid()}:{os.getgid()}",
        ])
        digest = sha256_file(part_path)
        atomic_write_text(layout.resolve(store, layout.prebuilt_inputs(part, key)), render_inputs(inputs))
        os.replace(part_path, dest)
    except BaseException:
        part_path.unlink(missing_ok=True)
        raise
    return rel, digest


def index_prebuilt(store: Path, written: Mapping[str, tuple[str, str, str]], removed: tuple[str, ...] = ()) -> None:
    """Add (or replace) ``written`` (store path -> kind, origin, version) in the store's index and drop ``removed``.

    The other entries stay as they are (their files are not hashed again); the new files are hashed now.
    """
    from dataclasses import replace

    from airlock.store import manifest

    man = manifest.read_manifest(store)
    hashed = manifest.hash_files([layout.resolve(store, rel) for rel in written])
    keep = [e for e in man.entries if e.path not in written and e.path not in removed]
    for rel, (kind, origin, version) in sorted(written.items()):
        p = layout.resolve(store, rel)
        keep.append(manifest.Entry(path=rel, kind=kind, origin=origin, version=version, size=p.stat().st_size, sha256=hashed[str(p)]))
    manifest.write_store_index(store, replace(man, entries=tuple(sorted(keep, key=lambda e: e.path))))



def prebuild(project: "Project", preset: "Preset", *, no_cache: bool = False, say=print) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    """Build the deps images compiling the parts (as ``inv build --no-prebuilt`` does, reusing its deps images when
    they exist), then export each compiled part into ``prebuilt/`` and index it; return [(archive, sha256)].

    Archives of the same part under another key are removed (they no longer fit the preset). The caller holds the
    store exclusively.
    """
    from airlock import build, docker

    facts = build.gather_build(project, preset, target="runtime")
    if not facts.parts.expected:
        raise InputError(f"{project.preset_path(preset.name)}: the preset compiles no part ({', '.join(PARTS)}): nothing to prebuild")
    if facts.parts.unkeyed:
        raise InputError(f"{preset.name}: {facts.parts.unkeyed}")
    plan = build.plan_build(facts, no_cache=no_cache, no_prebuilt=True)
    if plan.deps_action == "build":
        build.apply_deps(project, preset, plan, facts.deps_files, no_cache=no_cache, say=say)
    else:
        say(f"deps        reusing {plan.deps_tags['builder']}")
    image = plan.deps_tags["builder"]
    image_id = docker.image_id(image) or "?"
    store = project.artifacts(preset.name)
    written: dict[str, tuple[str, str, str]] = {}
    removed: list[str] = []
    out: list[tuple[str, str]] = []
    for part, want in facts.parts.expected.items():
        version = getattr(preset, part).version
        rel, digest = export_part(image, part, store, want.key, want.inputs)
        say(f"prebuilt    {rel} ({digest[:16]}) from /opt/{part} of {image}")
        written[rel] = ("prebuilt", f"inv prebuild: /opt/{part} of {image} ({image_id[:19]})", version)
        written[layout.prebuilt_inputs(part, want.key)] = ("prebuilt-inputs", f"the inputs whose sha256 is the key of {rel}", version)
        out.append((rel, digest))
        for old in facts.parts.available:
            if old.part == part and old.key != want.key:
                for r in (old.archive, layout.prebuilt_inputs(part, old.key)):
                    layout.resolve(store, r).unlink(missing_ok=True)
                    removed.append(r)
                say(f"prebuilt    removed {old.archive} (made from other inputs)")
    index_prebuilt(store, written, tuple(removed))
    return out
