"""Wheels for the target: which file of each pin to fetch, chosen from the index.

For every pin of the lock, the index pages (PEP 691 JSON, or PEP 503 HTML) list the
distribution files; airlock keeps the wheels whose sha256 is one of the pin's
hashes and whose tags install on the *target* (never the host), and picks the one
pip would prefer there. A pin with no such wheel is reported before anything is
downloaded, naming the package and the target.

Policy for packages that ship only an sdist: refused. An offline build of an sdist
needs its build dependencies, which pip does not hash-check; rather than carry an
unverifiable path, airlock asks the user to pin a version that has a wheel (or to
build the wheel on a connected machine and serve it from their own index).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urldefrag

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename

from airlock.errors import ExternalError, IntegrityError
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

    ``have`` maps wheel filenames present in the store to their sha256. A pin is
    satisfied when one present wheel installs on the target and its hash is locked.
    Raises IntegrityError listing every pin with no usable wheel.
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
    missing: list[str] = []
    for pin, files in zip(todo, listings):
        c = choose(pin, files, target)
        if c is None:
            kinds = "only an sdist" if files and not any(f.filename.endswith(".whl") for f in files if f.sha256 in pin.hashes) else "no matching wheel"
            missing.append(f"{pin.name}=={pin.version} ({kinds})")
        else:
            choices.append(c)
    if missing:
        raise IntegrityError(
            f"no wheel for target {target.label}: {', '.join(missing)}; pin versions that publish wheels for it "
            "(sdist-only packages are refused, see docs/build-guide.md)"
        )
    return choices, satisfied


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
