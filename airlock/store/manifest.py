"""The store's index: ``manifest.json`` (typed records) and ``SHA256SUMS`` (coreutils).

Both cover every file of ``artifacts/<preset>/`` except airlock's own (see
:mod:`airlock.store.layout`), with paths relative to that folder. Parsing checks every
entry and line (a confined path, a sha256, a size, a known kind, no duplicate) and keeps
going past a bad one, so verify lists them all. They are rendered from the same entries and written
atomically, SHA256SUMS last, so ``sha256sum -c --strict SHA256SUMS`` works without airlock.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from airlock.errors import InputError
from airlock.fsutil import atomic_write_text, read_input_text, sha256_file
from airlock.store.layout import INDEX_FILES, KINDS, MANIFEST, SUMS, check_rel, printable

__all__ = ["INDEX_FILES", "KINDS", "MANIFEST", "SUMS", "Entry", "Manifest", "Problem"]

_SHA = re.compile(r"^[0-9a-f]{64}$")
#: A size is at most 20 digits; a longer number is hostile (int() of 5000 digits is slow, then refused).
MAX_INT_DIGITS = 20


@dataclass(frozen=True)
class Entry:
    path: str
    kind: str
    origin: str
    version: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    preset: str
    lock_digest: str
    lock_sha256: str
    preset_sha256: str
    created: str
    airlock_version: str
    entries: tuple[Entry, ...] = field(default_factory=tuple)

    def by_path(self) -> dict[str, Entry]:
        return {e.path: e for e in self.entries}


@dataclass(frozen=True)
class Problem:
    """An index line or entry that cannot be trusted: left out of what was parsed, reported by verify."""

    code: str  # malformed | duplicate
    path: str  # printable: the entry's path, or "<index file>:<line>"
    message: str


def render_manifest(man: Manifest) -> str:
    data = asdict(man)
    data["schema"] = 1
    data["entries"] = [asdict(e) for e in sorted(man.entries, key=lambda e: e.path)]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def _entry(raw: object) -> Entry:
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    e = Entry(*(raw[k] for k in ("path", "kind", "origin", "version", "size", "sha256")))
    for name in ("path", "kind", "origin", "version", "sha256"):
        if not isinstance(getattr(e, name), str):
            raise ValueError(f"{name} is not a string")
    if isinstance(e.size, bool) or not isinstance(e.size, int) or e.size < 0:
        raise ValueError("size is not a non-negative integer")
    if not _SHA.match(e.sha256):
        raise ValueError("sha256 is not 64 lowercase hex digits")
    if e.kind not in KINDS:
        raise ValueError(f"kind {e.kind!r} is not one of {', '.join(KINDS)}")
    why = check_rel(e.path)
    if why is not None:
        raise ValueError(f"path: {why}")
    return e


def _parse_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a number of {len(text)} digits")
    return int(text)


def parse_manifest(text: str, source: str = MANIFEST) -> tuple[Manifest, list[Problem]]:
    """The manifest and the entries it could not trust (bad path, kind, size or sha256; duplicates).

    A file that is not a manifest at all (not JSON, no header) raises InputError naming it.
    """
    try:
        data = json.loads(text, parse_int=_parse_int)
        if not isinstance(data, dict) or not isinstance(data.get("entries"), list):
            raise ValueError("not an object with a list of entries")
        header = {k: data[k] for k in ("preset", "lock_digest", "lock_sha256", "preset_sha256", "created", "airlock_version")}
        if not all(isinstance(v, str) for v in header.values()):
            raise ValueError("a header field is not a string")
    except (KeyError, TypeError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else f"{type(exc).__name__}: {exc}"
        raise InputError(f"{source}: malformed manifest ({printable(why)[:200]}); run inv sync again") from None
    problems: list[Problem] = []
    entries: dict[str, Entry] = {}
    for n, raw in enumerate(data["entries"], 1):
        try:
            e = _entry(raw)
        except (KeyError, TypeError, ValueError) as exc:
            where = printable(raw["path"]) if isinstance(raw, dict) and isinstance(raw.get("path"), str) else f"{MANIFEST}:entry {n}"
            problems.append(Problem("malformed", where[:300], f"manifest.json entry {n}: {printable(str(exc))[:200]}"))
            continue
        if e.path in entries:
            problems.append(Problem("duplicate", e.path, f"listed twice in manifest.json (entry {n})"))
            continue
        entries[e.path] = e
    man = Manifest(**header, entries=tuple(sorted(entries.values(), key=lambda e: e.path)))
    return man, problems


def render_sha256sums(entries: Iterable[Entry]) -> str:
    return "".join(f"{e.sha256}  {e.path}\n" for e in sorted(entries, key=lambda e: e.path))


def parse_sha256sums(text: str, source: str = SUMS) -> tuple[dict[str, str], list[Problem]]:
    """``{path: sha256}`` of the well-formed lines, and a Problem for every other line (parsing goes on)."""
    out: dict[str, str] = {}
    problems: list[Problem] = []
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the final newline
    for n, line in enumerate(lines, 1):
        digest, sep, path = line.partition("  ")
        why = "not '<sha256>  <path>'" if not sep or not _SHA.match(digest) else check_rel(path)
        if why is not None:
            problems.append(Problem("malformed", f"{SUMS}:{n}", f"line {n}: {why}"))
        elif path in out:
            problems.append(Problem("duplicate", path, f"listed twice in {SUMS} (line {n})"))
        else:
            out[path] = digest
    return out, problems


def write_store_index(store: Path, man: Manifest) -> None:
    atomic_write_text(store / MANIFEST, render_manifest(man))
    atomic_write_text(store / SUMS, render_sha256sums(man.entries))


def read_index_text(path: Path) -> str:
    """An index file's text; a symlink, a directory, a huge file or non-UTF-8 bytes are one InputError."""
    if path.is_symlink():
        raise InputError(f"{path}: is a symlink; an index file must be a regular file in the store")
    return read_input_text(path)


def load_manifest(store: Path) -> tuple[Manifest, list[Problem]]:
    path = store / MANIFEST
    try:
        text = read_index_text(path)
    except FileNotFoundError:
        raise InputError(f"{path}: no manifest; run: inv sync --preset {store.name}") from None
    return parse_manifest(text, str(path))


def read_manifest(store: Path) -> Manifest:
    """The manifest's trustworthy entries only (verify reports the rest)."""
    return load_manifest(store)[0]


def hash_files(paths: Iterable[Path], jobs: int = 0) -> dict[str, str]:
    """sha256 of many files on all cores (hashlib releases the GIL on big buffers).

    Returns ``{str(path): hexdigest}``. Largest files start first so the cores stay busy.
    """
    items = sorted({Path(p) for p in paths}, key=lambda p: -p.stat().st_size)
    if not items:
        return {}
    workers = jobs or min(8, os.cpu_count() or 2)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return {str(p): d for p, d in zip(items, pool.map(sha256_file, items))}
