"""The store's index: ``manifest.json`` (typed records) and ``SHA256SUMS`` (coreutils).

Both cover every file of ``artifacts/<preset>/`` except themselves, with paths
relative to that folder. They are rendered from the same entries and written
atomically, SHA256SUMS last, so ``sha256sum -c --strict SHA256SUMS`` works without airlock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

from airlock.errors import InputError
from airlock.fsutil import atomic_write_text, sha256_file

MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
INDEX_FILES = (MANIFEST, SUMS)
KINDS = ("wheel", "deb", "deb-index", "source", "image", "other")


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


def render_manifest(man: Manifest) -> str:
    data = asdict(man)
    data["schema"] = 1
    data["entries"] = [asdict(e) for e in sorted(man.entries, key=lambda e: e.path)]
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def parse_manifest(text: str, source: str = MANIFEST) -> Manifest:
    try:
        data = json.loads(text)
        entries = tuple(
            Entry(str(e["path"]), str(e["kind"]), str(e["origin"]), str(e["version"]), int(e["size"]), str(e["sha256"]))
            for e in data["entries"]
        )
        return Manifest(
            preset=str(data["preset"]),
            lock_digest=str(data["lock_digest"]),
            lock_sha256=str(data["lock_sha256"]),
            preset_sha256=str(data["preset_sha256"]),
            created=str(data["created"]),
            airlock_version=str(data["airlock_version"]),
            entries=tuple(sorted(entries, key=lambda e: e.path)),
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise InputError(f"{source}: malformed manifest ({type(exc).__name__}: {exc}); run inv sync again") from None


def render_sha256sums(entries: Iterable[Entry]) -> str:
    return "".join(f"{e.sha256}  {e.path}\n" for e in sorted(entries, key=lambda e: e.path))


def parse_sha256sums(text: str, source: str = SUMS) -> dict[str, str]:
    out: dict[str, str] = {}
    for n, line in enumerate(text.splitlines(), 1):
        digest, sep, path = line.partition("  ")
        if not sep or len(digest) != 64 or not path:
            raise InputError(f"{source}: line {n}: not '<sha256>  <path>'")
        out[path] = digest
    return out


def write_store_index(store: Path, man: Manifest) -> None:
    atomic_write_text(store / MANIFEST, render_manifest(man))
    atomic_write_text(store / SUMS, render_sha256sums(man.entries))


def read_manifest(store: Path) -> Manifest:
    path = store / MANIFEST
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise InputError(f"{path}: no manifest; run: inv sync --preset {store.name}") from None
    return parse_manifest(text, str(path))


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
