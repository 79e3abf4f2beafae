"""Build a pin's sdist into a wheel for the target, in the preset's builder base, with no network.

The builder is the preset's builder base image with the builder stage's ``.deb`` set
installed from the store's offline repository (``debs/builder``, by the same
``docker/apt-install`` and ``docker/set-python`` the Dockerfile runs), committed once as
``airlock/<preset>:sdist-builder-<hash>`` (the hash covers the base image id, the
``Packages`` index and the package list) and reused while those stay the same. So the
Python ABI, glibc, compiler and headers are the image's own.

Each sdist is built in a fresh container of that image, ``--network=none``: a venv of the
stage's Python gets the build dependencies with ``pip install --isolated --no-index
--require-hashes --only-binary=:all:`` from the build-deps lock (wheels downloaded and
sha256-checked on the host first), then ``pip wheel --no-build-isolation --no-index
--no-deps`` builds the sdist unpacked at a fixed path. Reproducible: ``SOURCE_DATE_EPOCH``
(the sdist's newest file), ``PYTHONHASHSEED=0``, ``TZ=UTC``, ``LC_ALL=C.UTF-8``, umask 022
and the same build path every time. Building the same sdist twice gives the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from airlock import debs, docker, sdist
from airlock.errors import CommandError, ExternalError
from airlock.fsutil import atomic_write_text, sha256_file
from airlock.presets import Preset
from airlock.project import Project
from airlock.runner import run
from airlock.store import layout

#: The build, run by ``sh -c`` in the builder: arguments are positional, no user data is spliced into it.
_BUILD = r"""
set -eu
umask 022
sdist=$1 py=$2 owner=$3
export LC_ALL=C.UTF-8 TZ=UTC PYTHONHASHSEED=0 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
"python$py" -m venv /airlock/venv
# the venv's own setuptools is not in the build-deps lock: only locked code builds the wheel
/airlock/venv/bin/python -m pip uninstall -y -q setuptools >/dev/null 2>&1 || true
/airlock/venv/bin/python -m pip install -q --isolated --no-index --require-hashes --only-binary=:all: \
    --find-links /airlock/deps -r /airlock/build-deps.txt
mkdir -p /build
cd /build
case "$sdist" in
  *.zip) /airlock/venv/bin/python -m zipfile -e "/airlock/sdist/$sdist" . ;;
  *) tar --no-same-owner -xf "/airlock/sdist/$sdist" ;;
esac
set -- /build/*/
[ "$#" -eq 1 ] || { echo "airlock: $sdist does not unpack into one folder" >&2; exit 1; }
cd "$1"
echo "airlock: pip wheel $sdist (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
/airlock/venv/bin/python -m pip wheel -v --isolated --no-index --no-deps --no-build-isolation --no-cache-dir -w /airlock/out .
chown -R "$owner" /airlock/out
"""


@dataclass(frozen=True)
class Built:
    wheel: Path  # in the scratch folder; the caller moves it into the store
    seconds: float
    log: Path


def builder_tag(preset: Preset, base_id: str, packages_sha: str) -> str:
    key = json.dumps({"base": base_id, "packages": packages_sha, "apt": list(debs.stage_packages(preset, "builder")), "python": preset.python.version}, sort_keys=True)
    return f"airlock/{preset.name}:sdist-builder-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def ensure_builder(project: Project, preset: Preset, base_ref: str, base_id: str, store: Path, packages_sha: str, say=print) -> str:  # type: ignore[no-untyped-def]
    """The builder image (made once per base and .deb set); returns its tag."""
    tag = builder_tag(preset, base_id, packages_sha)
    if docker.image_exists(tag):
        return tag
    t0 = time.monotonic()
    say(f"builds   making {tag} ({base_ref} + the builder .debs, offline)")
    name = f"airlock-sdist-builder-{uuid.uuid4().hex[:12]}"
    scripts = project.root / "docker"
    argv = [
        docker.client(), "run", "--name", name, "--network=none", "--platform", preset.platform,
        "-v", f"{store / layout.deb_dir('builder')}:/airlock/debs:ro",
        "-v", f"{scripts / 'apt-install'}:/airlock/scripts/apt-install:ro",
        "-v", f"{scripts / 'set-python'}:/airlock/scripts/set-python:ro",
        base_ref, "sh", "-euc", '/airlock/scripts/apt-install /airlock/debs "$@" >/dev/null && /airlock/scripts/set-python "$0"',
        preset.python.version, *debs.stage_packages(preset, "builder"),
    ]  # fmt: skip
    try:
        proc = run(argv, check=False)
        if proc.returncode != 0:
            raise ExternalError(
                f"builds: installing the builder .debs into {base_ref} failed (exit {proc.returncode}): "
                f"{sdist.log_tail((proc.stdout or '') + (proc.stderr or ''), 4)}; run: inv sync --preset {preset.name} --only debs"
            )
        run([docker.client(), "commit", "--change", 'CMD ["/bin/sh"]', name, tag])
    finally:
        run([docker.client(), "rm", "-f", name], check=False)
    say(f"builds   {tag} made in {time.monotonic() - t0:.1f} s")
    return tag


def build_wheel(
    project: Project,
    preset: Preset,
    builder: str,
    sdist_path: Path,
    deps_dir: Path,
    build_deps_txt: Path,
    epoch: int,
    pin_label: str,
    work: Path,
) -> Built:
    """Build one sdist in a fresh ``--network=none`` container of ``builder``.

    A failure is ExternalError (exit 3) naming the package, the target, what the log says was
    missing (a header, a tool, a module) and the log's last lines; the whole log is kept under
    ``.airlock/sdist/<preset>/``.
    """
    from airlock.target import Target

    out = work / "out"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    logs = project.root / ".airlock" / "sdist" / preset.name
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / (sdist_path.name.removesuffix(".zip").removesuffix(".tar.gz") + ".log")
    argv = [
        docker.client(), "run", "--rm", "--network=none", "--platform", preset.platform,
        "-e", f"SOURCE_DATE_EPOCH={epoch}",
        "-v", f"{deps_dir}:/airlock/deps:ro",
        "-v", f"{build_deps_txt}:/airlock/build-deps.txt:ro",
        "-v", f"{sdist_path}:/airlock/sdist/{sdist_path.name}:ro",
        "-v", f"{out}:/airlock/out",
        builder, "sh", "-c", _BUILD, "sh", sdist_path.name, preset.python.version, f"{os.getuid()}:{os.getgid()}",
    ]  # fmt: skip
    t0 = time.monotonic()
    try:
        proc = run(argv, check=False)
    except CommandError as exc:  # the client could not start
        raise ExternalError(f"{pin_label}: cannot run the build ({exc})") from None
    seconds = time.monotonic() - t0
    text = (proc.stdout or "") + (proc.stderr or "")
    atomic_write_text(log_path, text)
    rel_log = log_path.relative_to(project.root)
    target = Target.for_preset(preset).label
    if proc.returncode != 0:
        cause = sdist.diagnose(text, preset.python.version)
        raise ExternalError(
            f"sdist build failed: {pin_label} for {target} (exit {proc.returncode})"
            + (f": {cause}" if cause else "")
            + f"; last lines: {sdist.log_tail(text)}; whole log: {rel_log}"
        )
    wheels = sorted(out.glob("*.whl"))
    if len(wheels) != 1:
        raise ExternalError(f"sdist build of {pin_label} for {target} made {len(wheels)} wheels ({', '.join(w.name for w in wheels) or 'none'}); whole log: {rel_log}")
    return Built(wheels[0], seconds, log_path)


def write_pip_requirements(bl: sdist.BuildLock, dest: Path) -> None:
    """The build-deps lock's pins as pip reads them (no index line: the build has none)."""
    atomic_write_text(dest, "".join(p.requirement + "".join(f" \\\n    --hash=sha256:{h}" for h in p.hashes) + "\n" for p in bl.lock.pins))


def scratch() -> tempfile.TemporaryDirectory[str]:
    return tempfile.TemporaryDirectory(prefix="airlock-sdist-build-")


def file_sha(path: Path) -> str:
    return sha256_file(path)
