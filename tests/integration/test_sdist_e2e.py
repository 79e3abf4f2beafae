"""Pins that ship only an sdist, for real: locked, built for the target in its builder base, installed offline.

One preset on the demo's Debian 12 base with ``docopt==0.6.2`` (pure Python, only an sdist on
PyPI) and ``netifaces==0.11.0`` (a C extension whose wheels stop at cp39: none for the
preset's 3.11), no FFmpeg, ``python3.11-dev`` in ``apt.build`` for the C headers. The real
engine and PyPI throughout; the store is synced once for the module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, clone_project, inv
from tests.integration.conftest import docker_out, drop_preset_images, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]

NAME = "debian12-cpu-py3.11-sdist"
BARE = "debian12-cpu-py3.11-sdist-noheaders"
TAG = "airlock-test/sdist:runtime"
DOCOPT_SDIST = "49b3a825280bd66b3aa83585ef59c4a8c82f2c8a522dbe754a8bc8d08c85c491"  # docopt-0.6.2.tar.gz on PyPI
NETIFACES_WHEEL = "netifaces-0.11.0-cp311-cp311-linux_x86_64.whl"


def _write_preset(site: Path, name: str, headers: bool) -> None:
    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data.update(name=name, description="test: pins that ship only an sdist", ffmpeg=None)
    data["apt"]["build"] = ["gcc", "libc6-dev", *(["python3.11-dev"] if headers else [])]
    data["requirements"] = {"packages": ["docopt==0.6.2", "netifaces==0.11.0"]}
    (site / "presets" / f"{name}.json").write_text(json.dumps(data, indent=2) + "\n")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A site with the preset locked and synced once (its builder image and any image the tests build removed afterwards)."""
    site = clone_project(tmp_path_factory.mktemp("sdist") / "site")
    _write_preset(site, NAME, headers=True)
    try:
        yield site
    finally:
        for name in (NAME, BARE):
            drop_preset_images(name)
        if TAG in docker_out("images", "--format", "{{.Repository}}:{{.Tag}}").split():
            docker_out("image", "rm", "-f", TAG)


@pytest.fixture(scope="module")
def synced(site: Path) -> dict[str, str]:
    """inv lock, then inv sync; returns the sync's output and the lock's."""
    lock = ok(inv(site, "lock", "--preset", NAME), "inv lock")
    sync = ok(inv(site, "sync", "--preset", NAME), "inv sync")
    return {"lock": lock.stdout, "sync": sync.stdout + sync.stderr}


def _store(site: Path) -> Path:
    return site / "artifacts" / NAME


def _record(site: Path, key: str, version: str) -> dict:  # type: ignore[type-arg]
    return json.loads((_store(site) / "builds" / f"{key}-{version}.provenance.json").read_text())


def test_lock_writes_the_build_deps_lock_beside_the_lock(site: Path, synced: dict[str, str]) -> None:
    """inv lock names both sdist-only pins and writes their build dependencies, hashed, for the target; --check finds both files fresh."""
    build_lock = (site / "locks" / f"{NAME}.build.txt").read_text()
    assert "1 build dependency for docopt==0.6.2, netifaces==0.11.0 (only an sdist)" in synced["lock"], synced["lock"]
    assert f'"sha256":"{DOCOPT_SDIST}"' in build_lock and re.search(r"^setuptools==[\d.]+ \\\n    --hash=sha256:[0-9a-f]{64}", build_lock, re.MULTILINE)
    ok(inv(site, "lock", "--check", "--preset", NAME), "inv lock --check")


def test_sync_builds_each_sdist_for_the_target_and_records_where_it_came_from(site: Path, synced: dict[str, str]) -> None:
    """Each pin is built in the builder base (one line with its time); the record ties the wheel to the locked sdist and build-deps lock; verify passes."""
    out = synced["sync"]
    assert re.search(r"built docopt==0\.6\.2 for cp311 linux/amd64 glibc2\.36 in \d+\.\d s: docopt-0\.6\.2-py2\.py3-none-any\.whl", out), out
    assert re.search(rf"built netifaces==0\.11\.0 for cp311 linux/amd64 glibc2\.36 in \d+\.\d s: {re.escape(NETIFACES_WHEEL)}", out), out
    store = _store(site)
    assert sorted(p.name for p in (store / "wheels").iterdir()) == ["docopt-0.6.2-py2.py3-none-any.whl", NETIFACES_WHEEL]
    rec = _record(site, "docopt", "0.6.2")
    assert rec["sdist"]["sha256"] == DOCOPT_SDIST and (store / "builds" / rec["sdist"]["filename"]).is_file()
    import hashlib

    assert rec["build_lock"]["sha256"] == hashlib.sha256((site / "locks" / f"{NAME}.build.txt").read_bytes()).hexdigest()
    assert rec["wheel"]["sha256"] == hashlib.sha256((store / "wheels" / rec["wheel"]["filename"]).read_bytes()).hexdigest()
    install = (store / "builds" / "install-lock.txt").read_text()
    assert f"--hash=sha256:{rec['wheel']['sha256']}" in install and DOCOPT_SDIST not in install
    ok(inv(site, "verify", "--preset", NAME), "inv verify")
    # a second sync of the unchanged preset builds nothing
    again = ok(inv(site, "sync", "--preset", NAME), "no-op sync")
    assert "building" not in again.stdout + again.stderr and "downloaded 0 bytes" in again.stdout


def test_building_the_same_sdist_twice_gives_the_same_wheel_bytes(site: Path, synced: dict[str, str]) -> None:
    """The wheels removed, sync builds both again from the same inputs and gets the recorded sha256s; verify passes."""
    before = {k: _record(site, k, v)["wheel"]["sha256"] for k, v in (("docopt", "0.6.2"), ("netifaces", "0.11.0"))}
    for whl in (_store(site) / "wheels").iterdir():
        whl.unlink()
    proc = ok(inv(site, "sync", "--preset", NAME), "sync after removing the built wheels")
    assert (proc.stdout + proc.stderr).count("the recorded bytes reproduced") == 2, proc.stdout + proc.stderr
    after = {k: _record(site, k, v)["wheel"]["sha256"] for k, v in (("docopt", "0.6.2"), ("netifaces", "0.11.0"))}
    assert after == before
    ok(inv(site, "verify", "--preset", NAME), "inv verify")


def test_a_changed_build_dependency_hash_refuses_the_build_before_it_starts(site: Path, synced: dict[str, str]) -> None:
    """One hash of the committed build-deps lock changed: lock --check and sync refuse it (exit 1) naming the file; no build runs.

    Every hash of the build dependency changed and the pins digest made to match (so only the hashes are wrong): no file
    of the index has them, and sync still refuses before any build, naming the file and the dependency.
    """
    from airlock import sdist

    path = site / "locks" / f"{NAME}.build.txt"
    good = path.read_text()
    wheel = _store(site) / "wheels" / "docopt-0.6.2-py2.py3-none-any.whl"

    def flip(h: str) -> str:
        return ("0" if h[0] != "0" else "1") + h[1:]

    try:
        first = re.search(r"--hash=sha256:([0-9a-f]{64})", good)
        assert first
        path.write_text(good.replace(first.group(1), flip(first.group(1))))
        check = inv(site, "lock", "--check", "--preset", NAME)
        assert check.returncode == 1 and f"locks/{NAME}.build.txt: its pins or hashes were changed" in check.stderr, check.stderr
        wheel.unlink()  # so that sync must build
        proc = inv(site, "sync", "--preset", NAME)
        # both records name the build-deps lock's old bytes: both pins are to be built again, and neither is
        assert proc.returncode == 1 and proc.stderr.strip().splitlines()[-1].startswith(
            f"airlock: error: refusing to build docopt==0.6.2, netifaces==0.11.0: locks/{NAME}.build.txt: its pins or hashes were changed"
        ), proc.stderr
        assert "building " not in proc.stdout + proc.stderr and not wheel.exists()

        every = good
        for h in set(re.findall(r"--hash=sha256:([0-9a-f]{64})", good)):
            every = every.replace(h, flip(h))
        bl = sdist.parse_build_lock(every, str(path))
        path.write_text(every.replace(bl.pins_sha256, sdist.pins_sha256(bl.lock.pins)))
        assert inv(site, "lock", "--check", "--preset", NAME).returncode == 0  # consistent: only the index can tell
        proc = inv(site, "sync", "--preset", NAME)
        line = proc.stderr.strip().splitlines()[-1]
        assert proc.returncode == 1 and line.startswith(f"airlock: error: locks/{NAME}.build.txt: a build dependency: no wheel for target cp311 linux/amd64 glibc2.36: setuptools=="), line
        assert "building " not in proc.stdout + proc.stderr and not wheel.exists()
    finally:
        path.write_text(good)
        ok(inv(site, "sync", "--preset", NAME), "sync with the lock restored")


def test_the_offline_image_installs_the_built_wheels_and_imports_them(site: Path, synced: dict[str, str]) -> None:
    """inv build (--network=none, pip --no-index --require-hashes --only-binary=:all:) installs both built wheels; the image imports them."""
    ok(inv(site, "build", "--preset", NAME, "--target", "runtime", "--tag", TAG), "inv build")
    out = docker_out(
        "run", "--rm", "--network=none", "--entrypoint", "/opt/venv/bin/python", TAG, "-c",
        "import docopt, netifaces; print(docopt.__version__, netifaces.__file__)",
    )  # fmt: skip
    assert out.split()[0] == "0.6.2" and out.split()[1].endswith("netifaces.cpython-311-x86_64-linux-gnu.so"), out


def test_a_c_extension_without_its_headers_fails_naming_the_header(site: Path, synced: dict[str, str]) -> None:
    """The same pins without python3.11-dev in apt.build: sync fails (exit 3) naming the package, the target, Python.h and the fix, with the log's last lines."""
    _write_preset(site, BARE, headers=False)
    ok(inv(site, "lock", "--preset", BARE), "inv lock")
    proc = inv(site, "sync", "--preset", BARE)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith("airlock: error: sdist build failed: netifaces==0.11.0 for cp311 linux/amd64 glibc2.36 (exit 1): missing header Python.h: add python3.11-dev to the preset's apt.build; last lines: "), line
    assert f"whole log: .airlock/sdist/{BARE}/netifaces-0.11.0.log" in line and (site / ".airlock" / "sdist" / BARE / "netifaces-0.11.0.log").is_file()
