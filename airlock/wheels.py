"""Wheels for the target: which file of each pin to fetch, chosen from the index.

For every pin of the lock, the index pages (PEP 691 JSON, or PEP 503 HTML) list the
distribution files; airlock keeps the wheels whose sha256 is one of the pin's
hashes and whose tags install on the *target* (never the host), and picks the one
pip would prefer there. A pin with no such wheel is reported before anything is
downloaded, naming the package and the target.

Packages that ship only an sdist (no wheel for the target, but a locked sdist):
:func:`plan_with_sdists` hands them back as :class:`SdistChoice` records, and sync builds
each into a wheel for the target from its locked build dependencies (:mod:`airlock.sdist`).
A pin with neither a usable wheel nor a locked sdist is still refused, naming it.

``inv lock`` asks which pins ship only an sdist (:func:`sdist_only`) on every run. A pin
found to have a locked wheel for the target is remembered in airlock's cache
(:func:`cache_dir`, file ``pins-with-wheels.txt``: target, indexes, name, version and that
wheel's sha256) and not listed again while the lock still holds that hash: an index never
changes the bytes of a file it serves. Deleting the file makes every pin be listed afresh.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urldefrag

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from airlock.errors import ExternalError, IntegrityError
from airlock.fsutil import atomic_write_text
from airlock.lockfile import Lockfile, Pin
from airlock.target import Target

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json, text/html;q=0.1"


@dataclass(frozen=True)
class IndexFile:
    filename: str
    url: str
    sha256: str | None
    size: int | None = None  # PEP 700 JSON pages give it; HTML pages do not


@dataclass(frozen=True)
class WheelChoice:
    pin: Pin
    filename: str
    url: str
    sha256: str
    size: int | None = None


@dataclass(frozen=True)
class SdistChoice:
    """A pin with no wheel for the target: its locked sdist, to be built on the connected side."""

    pin: Pin
    filename: str
    url: str
    sha256: str
    size: int | None = None


SDIST_SUFFIXES = (".tar.gz", ".zip")


def is_sdist(filename: str) -> bool:
    return filename.endswith(SDIST_SUFFIXES)


def choose_sdist(pin: Pin, files: list[IndexFile]) -> SdistChoice | None:
    """The locked sdist of ``pin`` among ``files`` (its name and version, a hash of the pin), or None."""
    for f in sorted(files, key=lambda f: f.filename):
        if not is_sdist(f.filename) or f.sha256 not in pin.hashes:
            continue
        stem = f.filename.removesuffix(".zip").removesuffix(".tar.gz")
        name, sep, version = stem.rpartition("-")
        if sep and canonicalize_name(name) == pin.key and version == pin.version:
            return SdistChoice(pin, f.filename, f.url, f.sha256 or "", f.size)
    return None


def wheel_rank(filename: str, target: Target, _cache: dict = {}) -> int | None:  # type: ignore[type-arg]
    """Priority of a wheel on ``target`` (lower is better), None when it cannot install."""
    key = target
    order = _cache.get(key)
    if order is None:
        order = {t: i for i, t in enumerate(target.supported_tags())}
        _cache[key] = order
    try:
        _, _, _, tags = parse_wheel_filename(filename)
    except InvalidWheelFilename:
        return None
    ranks = [order[t] for t in tags if t in order]
    return min(ranks) if ranks else None


def usable_on(filename: str, target: Target) -> bool:
    return wheel_rank(filename, target) is not None


def choose(pin: Pin, files: list[IndexFile], target: Target) -> WheelChoice | None:
    """The best wheel of ``pin`` for ``target`` among ``files``, or None."""
    best: tuple[int, IndexFile] | None = None
    hashes = set(pin.hashes)
    for f in files:
        if not f.filename.endswith(".whl") or f.sha256 not in hashes:
            continue
        try:
            name, version, _, _ = parse_wheel_filename(f.filename)
        except InvalidWheelFilename:
            continue
        if name != pin.key:
            continue
        rank = wheel_rank(f.filename, target)
        if rank is not None and (best is None or rank < best[0]):
            best = (rank, f)
    if best is None:
        return None
    f = best[1]
    return WheelChoice(pin, f.filename, f.url, f.sha256 or "", f.size)


def plan(lock: Lockfile, target: Target, have: dict[str, str], jobs: int = 8) -> tuple[list[WheelChoice], list[str]]:
    """Pins needing a download (as choices) and the names of pins already satisfied.

    Raises IntegrityError listing every pin with no usable wheel, sdist-only pins included
    (for a set that must be all wheels: the build dependencies of an sdist).
    """
    choices, satisfied, sdists = plan_with_sdists(lock, target, have, jobs)
    if sdists:
        listed = ", ".join(f"{s.pin.name}=={s.pin.version} (only an sdist)" for s in sdists)
        raise IntegrityError(f"no wheel for target {target.label}: {listed}; pin versions that publish wheels for it")
    return choices, satisfied


def plan_with_sdists(
    lock: Lockfile, target: Target, have: dict[str, str], jobs: int = 8
) -> tuple[list[WheelChoice], list[str], list[SdistChoice]]:
    """Pins needing a download (as choices), the names of pins already satisfied, and the pins to build from their sdist.

    ``have`` maps wheel filenames present in the store to their sha256. A pin is
    satisfied when one present wheel installs on the target and its hash is locked.
    A pin with no wheel for the target but a locked sdist is an :class:`SdistChoice`.
    Raises IntegrityError listing every pin with neither.
    """
    satisfied: list[str] = []
    todo: list[Pin] = []
    for pin in lock.pins:
        ok = any(
            sha in pin.hashes and _wheel_key(fn) == pin.key and usable_on(fn, target)
            for fn, sha in have.items()
        )
        (satisfied if ok else todo).append(pin.name if ok else pin)  # type: ignore[arg-type]
    indexes = (lock.index_url, *lock.extra_index_urls)
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        listings = list(pool.map(lambda p: _files_for(p, indexes), todo))
    choices: list[WheelChoice] = []
    sdists: list[SdistChoice] = []
    missing: list[str] = []
    for pin, files in zip(todo, listings):
        c = choose(pin, files, target)
        if c is not None:
            choices.append(c)
        elif (s := choose_sdist(pin, files)) is not None:
            sdists.append(s)
        else:
            missing.append(f"{pin.name}=={pin.version} (no matching wheel, no locked sdist)")
    if missing:
        raise IntegrityError(f"no wheel for target {target.label}: {', '.join(missing)}; pin versions that publish wheels or an sdist")
    return choices, satisfied, sdists


def cache_dir() -> Path:
    """airlock's own cache folder: ``$AIRLOCK_CACHE_DIR``, else ``$XDG_CACHE_HOME/airlock``, else ``~/.cache/airlock``."""
    if os.environ.get("AIRLOCK_CACHE_DIR"):
        return Path(os.environ["AIRLOCK_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "airlock"


WHEEL_PINS = "pins-with-wheels.txt"


def _read_wheel_pins(path: Path) -> set[tuple[str, ...]]:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return set()
    return {tuple(line.split("\t")) for line in text.splitlines() if line.count("\t") == 4}


def sdist_only(pins: tuple[Pin, ...], indexes: tuple[str, ...], target: Target, jobs: int = 8, cache: Path | None = None) -> list[SdistChoice]:
    """The pins with no wheel for ``target`` but a locked sdist (pins with neither are left to sync to refuse).

    Only pins not already known to have a locked wheel for ``target`` are listed; the ones
    found to have one are added to the cache (``cache``, default :func:`cache_dir`), written
    atomically. A cache that cannot be read or written costs listings, never a wrong answer.
    """
    path = (cache or cache_dir()) / WHEEL_PINS
    known = _read_wheel_pins(path)
    where = " ".join(indexes)
    todo = [p for p in pins if not any((target.label, where, p.key, p.version, h) in known for h in p.hashes)]
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        listings = list(pool.map(lambda p: _files_for(p, indexes), todo))
    out: list[SdistChoice] = []
    found: set[tuple[str, ...]] = set()
    for pin, files in zip(todo, listings):
        if (c := choose(pin, files, target)) is not None:
            found.add((target.label, where, pin.key, pin.version, c.sha256))
        elif (s := choose_sdist(pin, files)) is not None:
            out.append(s)
    if found:
        try:
            atomic_write_text(path, "".join("\t".join(k) + "\n" for k in sorted(known | found)))
        except OSError:
            pass
    return out


def _wheel_key(filename: str) -> str | None:
    try:
        return parse_wheel_filename(filename)[0]
    except InvalidWheelFilename:
        return None


def _files_for(pin: Pin, indexes: tuple[str, ...]) -> list[IndexFile]:
    out: list[IndexFile] = []
    errors = []
    for index in indexes:
        try:
            out += list_files(index, pin.key)
        except ExternalError as exc:
            errors.append(str(exc))
    if not out and errors:
        raise ExternalError(errors[0])
    return [f for f in out if f"-{pin.version}" in f.filename or pin.version in f.filename]


def list_files(index_url: str, project: str, timeout: float = 60) -> list[IndexFile]:
    """Files of ``project`` on a simple index (JSON when offered, else HTML)."""
    url = index_url.rstrip("/") + "/" + canonicalize_name(project) + "/"
    req = urllib.request.Request(url, headers={"Accept": JSON_ACCEPT, "User-Agent": "airlock"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = resp.read()
            ctype = resp.headers.get("Content-Type", "")
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return []
        raise ExternalError(f"{url}: HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ExternalError(f"{url}: {reason}") from None
    if "json" in ctype and body.lstrip().startswith(b"{"):  # a proxy may label HTML as JSON
        data = json.loads(body)
        return [
            IndexFile(f["filename"], urljoin(final, f["url"]), (f.get("hashes") or {}).get("sha256"), f.get("size"))
            for f in data.get("files", [])
        ]
    parser = _Anchors()
    parser.feed(body.decode("utf-8", "replace"))
    files = []
    for href, text in parser.links:
        full, frag = urldefrag(urljoin(final, href))
        sha = frag.split("=", 1)[1] if frag.startswith("sha256=") else None
        files.append(IndexFile(text.strip() or full.rsplit("/", 1)[-1], full, sha))
    return files


class _Anchors(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[tuple[str, str]] = []
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "a":
            self._href = dict(attrs).get("href")
            self._text = ""

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "a" and self._href is not None:
            self.links.append((self._href, self._text))
            self._href = None


def store_wheels(wheels_dir: Path) -> list[Path]:
    return sorted(p for p in wheels_dir.glob("*") if p.is_file()) if wheels_dir.is_dir() else []
