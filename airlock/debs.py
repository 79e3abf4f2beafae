"""Debian packages, resolved inside a container of the preset's own base image.

For each stage (builder, runtime) sync runs the stage's base image with network,
asks apt which packages the base lacks for that stage's set, downloads exactly
those into ``artifacts/<preset>/debs/<stage>/`` and writes a ``Packages`` index, so
the folder is a flat apt repository (``deb [trusted=yes] file:/... ./``) that the
offline build installs from. Files already in the folder are reused (apt sees them
in its archive cache), so an unchanged set downloads nothing.

Sync passes every package the system lock pins as ``name=version`` (:mod:`airlock.syslock`) and a
``check`` that compares what apt fetched with the lock before the folder is replaced. What the
folder holds is the same bytes either way (the Dockerfile bind-mounts it; BuildKit's cache key
includes them).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from airlock import docker
from airlock.errors import ExternalError
from airlock.fsutil import atomic_write_text
from airlock.presets import Preset

# Positional args ("$@") are the package names: no user data is spliced into the script.
_RESOLVE = r"""
set -eu
export DEBIAN_FRONTEND=noninteractive
cp /var/lib/dpkg/status /out/.status
apt-get update -qq >/dev/null
mkdir -p /out/partial
apt-get install -s --no-install-recommends "$@" | sed -n '/^Inst /p' > /out/.wanted
apt-get install -y -qq --download-only --no-install-recommends -o Dir::Cache::archives=/out "$@" >/dev/null
rm -rf /out/partial /out/lock
cd /out
for f in *.deb; do
  [ -e "$f" ] || continue
  dpkg-deb -f "$f"
  printf 'Filename: ./%s\n\n' "$f"
done > /out/.control
"""


@dataclass(frozen=True)
class Deb:
    package: str
    version: str
    arch: str
    filename: str
    size: int
    sha256: str
    control: str  # the control paragraph (without Filename/Size/SHA256)


def stage_packages(preset: Preset, stage: str) -> tuple[str, ...]:
    """The apt set of a stage: Python's .debs, the preset's list, TensorRT .debs at runtime."""
    pkgs = list(preset.python.debs(stage))
    if stage == "builder":
        pkgs += list(preset.apt.build)
    else:
        pkgs += list(preset.apt.runtime)
        if preset.tensorrt is not None and preset.tensorrt.source == "deb":
            pkgs += list(preset.tensorrt.debs)
    return tuple(dict.fromkeys(pkgs))


def input_digest(base_id: str, packages: tuple[str, ...], platform: str) -> str:
    data = json.dumps({"base": base_id, "packages": list(packages), "platform": platform}, sort_keys=True)
    return "sha256:" + hashlib.sha256(data.encode()).hexdigest()


def deb_filename(package: str, version: str, arch: str) -> str:
    return f"{package}_{version.replace(':', '%3a')}_{arch}.deb"


#: called with the .debs apt fetched, what it wanted (package, version, arch) and the base's
#: ``var/lib/dpkg/status`` before ``dest`` is replaced; raising keeps ``dest`` as it was
Check = Callable[[list[Deb], list[tuple[str, str, str]], str], None]


def resolve(
    base_ref: str, packages: tuple[str, ...], dest: Path, platform: str, *, check: Check | None = None
) -> tuple[list[Deb], int]:
    """Fill ``dest`` with exactly the .debs ``base_ref`` lacks for ``packages`` (apt's arguments:
    names, or ``name=version`` pins).

    Returns the debs and the bytes downloaded. Works in ``dest.new`` seeded with
    hard links of what ``dest`` holds; swaps it in only when complete and ``check`` passed.
    """
    work = dest.with_name(dest.name + ".new")
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    before: set[str] = set()
    if dest.is_dir():
        for f in dest.glob("*.deb"):
            os.link(f, work / f.name)
            before.add(f.name)
    try:
        if packages:
            docker.container_run(base_ref, ["sh", "-c", _RESOLVE, "sh", *packages], mounts={work: "/out"}, platform=platform)
            wanted = _parse_wanted((work / ".wanted").read_text())
            controls = _parse_controls((work / ".control").read_text())
            status = (work / ".status").read_text(errors="replace")
        else:
            wanted, controls, status = [], {}, ""
        debs: list[Deb] = []
        keep: set[str] = set()
        for pkg, ver, arch in wanted:
            name = deb_filename(pkg, ver, arch)
            path = work / name
            if not path.exists():
                raise ExternalError(f"apt in {base_ref} did not download {name} (package {pkg} {ver})")
            keep.add(name)
            data = path.read_bytes()
            debs.append(Deb(pkg, ver, arch, name, len(data), hashlib.sha256(data).hexdigest(), controls.get(name, "")))
        if check is not None:
            check(debs, wanted, status)
        downloaded = sum((work / n).stat().st_size for n in keep - before)
        for f in list(work.iterdir()):
            if f.name not in keep:
                f.unlink()
        atomic_write_text(work / "Packages", render_packages(debs))
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    if dest.exists():
        shutil.rmtree(dest)
    work.replace(dest)
    return debs, downloaded


def render_packages(debs: list[Deb]) -> str:
    """A flat-repository ``Packages`` index for ``debs`` (stable order)."""
    paras = []
    for d in sorted(debs, key=lambda d: d.filename):
        body = d.control.strip()
        paras.append(f"{body}\nFilename: ./{d.filename}\nSize: {d.size}\nSHA256: {d.sha256}\n")
    return "\n".join(paras)


#: ``apt-get install -s`` lines: ``Inst NAME [OLD] (VERSION ORIGIN [ARCH]) [BREAKS ]``. The
#: ``[OLD]`` is there when the base already has an older version (an upgrade, e.g. from
#: jammy-updates): those .debs are needed offline too.
_WANTED = re.compile(r"^Inst (\S+) (?:\[[^\]]*\] )?\((\S+) ([^\[]*?) ?\[([^\]]+)\]\)")


def parse_sim(text: str) -> list[tuple[str, str, str, str]]:
    """(package, version, arch, origin) of every package apt would install or upgrade."""
    out = []
    for line in text.splitlines():
        m = _WANTED.match(line.strip())
        if m:
            out.append((m.group(1), m.group(2), m.group(4), m.group(3).strip()))
    return out


def _parse_wanted(text: str) -> list[tuple[str, str, str]]:
    """(package, version, arch) of every package apt would install or upgrade."""
    return [(p, v, a) for p, v, a, _ in parse_sim(text)]


def _parse_controls(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for para in text.split("\n\n"):
        lines = para.strip("\n").splitlines()
        if not lines or not lines[-1].startswith("Filename: ./"):
            continue
        out[lines[-1].removeprefix("Filename: ./")] = "\n".join(lines[:-1])
    return out


def parse_packages(text: str) -> list[dict[str, str]]:
    """Paragraphs of a Packages index as dicts (for verify and reports)."""
    out = []
    for para in text.split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in para.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, _, val = line.partition(":")
                fields[key] = val.strip()
        if fields:
            out.append(fields)
    return out
