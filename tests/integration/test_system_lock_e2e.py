"""The system lock for real: inv lock --only system against the engine and Debian's archive, sync fetching
exactly what it pins, verify comparing the store with it; and, against a loopback apt archive made in the
test (so the result never depends on what Debian publishes next), the archive dropping a pinned version,
re-publishing it with other bytes, and a pinned version whose dependencies changed.
"""

from __future__ import annotations

import functools
import hashlib
import http.server
import json
import lzma
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from airlock import debs, images, syslock
from airlock.errors import ExitCode
from airlock.presets import load_preset
from airlock.project import Project
from airlock.store import manifest
from tests.conftest import DEMO, clone_project, inv
from tests.debpkg import ar_bytes, tar_bytes
from tests.integration.conftest import ok

pytestmark = [pytest.mark.docker, pytest.mark.network]


def _one_line(proc: subprocess.CompletedProcess[str]) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _reindex(store: Path, rel: str) -> None:
    """Rewrite manifest.json and SHA256SUMS so they vouch for ``rel``'s bytes now: only the lock can tell."""
    man = manifest.read_manifest(store)
    data = (store / rel).read_bytes()
    entries = [e for e in man.entries if e.path != rel]
    entries.append(manifest.Entry(rel, "deb", "test", "", len(data), hashlib.sha256(data).hexdigest()))
    manifest.write_store_index(store, manifest.Manifest(man.preset, man.lock_digest, man.lock_sha256, man.preset_sha256, man.created,
                                                        man.airlock_version, tuple(sorted(entries, key=lambda e: e.path))))


def test_lock_then_sync_fetches_exactly_the_locked_debs_and_verify_flags_a_swapped_one(tmp_path: Path) -> None:
    """inv lock --only system on the demo pins .debs whose sha256s are exactly what sync then fetches; a re-lock of the
    same archive leaves the file byte for byte; a .deb swapped for another (index rewritten) and an unpinned .deb are findings."""
    proj = clone_project(tmp_path / "site")
    path = proj / "locks" / f"{DEMO}.system.json"
    path.unlink()
    proc = inv(proj, "sync", "--preset", DEMO, "--only", "images,debs")
    assert proc.returncode == ExitCode.BAD_INPUT
    assert _one_line(proc) == (
        f"airlock: error: locks/{DEMO}.system.json: no system lock (the pinned .debs and base images); run: inv lock --preset {DEMO} --only system"
    )
    ok(inv(proj, "lock", "--preset", DEMO, "--only", "system"), "inv lock --only system")
    first = path.read_bytes()
    ok(inv(proj, "lock", "--check", "--preset", DEMO), "inv lock --check")
    ok(inv(proj, "sync", "--preset", DEMO, "--only", "images,debs"), "inv sync")
    lock = syslock.read(path)
    assert lock is not None
    store = proj / "artifacts" / DEMO
    for stage in ("builder", "runtime"):
        got = {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in (store / "debs" / stage).glob("*.deb")}
        assert got == {d.filename: d.sha256 for d in lock.stage(stage).debs} and got
    assert lock.stage("builder").base.installed and lock.stage("builder").base.suite == "bookworm"
    ok(inv(proj, "lock", "--preset", DEMO, "--only", "system", "--upgrade"), "inv lock --upgrade --only system")
    assert path.read_bytes() == first  # same archive, same lock: not even its time moved

    builder = sorted((store / "debs" / "builder").glob("*.deb"))
    victim, other = builder[0], builder[1]
    victim.write_bytes(other.read_bytes())
    _reindex(store, f"debs/builder/{victim.name}")
    extra = store / "debs" / "runtime" / other.name
    if not extra.exists():
        extra.write_bytes(other.read_bytes())
        _reindex(store, f"debs/runtime/{other.name}")
    proc = inv(proj, "verify", "--preset", DEMO, "--json")
    assert proc.returncode == ExitCode.INTEGRITY
    found = [(f["code"], f["path"], f["message"]) for f in json.loads(proc.stdout)["presets"][0]["findings"]]
    pinned = next(d.sha256 for d in lock.stage("builder").debs if d.filename == victim.name)
    assert ("sha256", f"debs/builder/{victim.name}",
            f"locks/{DEMO}.system.json pins sha256 {pinned}, the store holds {hashlib.sha256(other.read_bytes()).hexdigest()}; "
            f"run: inv sync --preset {DEMO} --only debs") in found
    if extra.name not in {d.filename for d in lock.stage("runtime").debs}:
        assert ("unlocked", f"debs/runtime/{other.name}") in [(c, p) for c, p, _ in found]


# ------------------------------------------------------------ a loopback archive


def _deb(name: str, version: str, depends: str = "", salt: bytes = b"") -> bytes:
    control = f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n"
    control += f"Depends: {depends}\n" if depends else ""
    return ar_bytes([("debian-binary", b"2.0\n"), ("control.tar.xz", lzma.compress(tar_bytes({"./control": control.encode()}))),
                     ("data.tar.xz", lzma.compress(tar_bytes({f"./usr/share/doc/{name}/x": b"x" + salt})))])


class Archive:
    """A flat apt repository served over HTTP on every interface, so a container reaches it through the bridge's gateway."""

    def __init__(self, root: Path, url: str) -> None:
        self.root, self.url = root, url

    def publish(self, debs_: dict[str, tuple[str, bytes, str]]) -> None:
        """Serve exactly ``{file name: (package, bytes, control)}`` (everything else is dropped)."""
        for f in self.root.glob("*.deb"):
            f.unlink()
        paras = []
        for fn, (_, data, control) in sorted(debs_.items()):
            (self.root / fn).write_bytes(data)
            paras.append(f"{control}Filename: ./{fn}\nSize: {len(data)}\nSHA256: {hashlib.sha256(data).hexdigest()}\n")
        (self.root / "Packages").write_text("\n".join(paras))


def _entry(name: str, version: str, depends: str = "", salt: bytes = b"") -> tuple[str, tuple[str, bytes, str]]:
    control = f"Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: t <t@t>\nDescription: test\n" + (f"Depends: {depends}\n" if depends else "")
    return f"{name}_{version}_all.deb", (name, _deb(name, version, depends, salt), control)


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    root = tmp_path / "repo"
    root.mkdir()
    handler = functools.partial(_Quiet, directory=str(root))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    gateway = subprocess.run(["docker", "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"],
                             check=True, capture_output=True, text=True).stdout.strip()
    try:
        yield Archive(root, f"http://{gateway}:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def site(tmp_path: Path, archive: Archive) -> Iterator[Path]:
    """A copy of the project whose demo preset adds ``airlock-fake`` to both stages, on a base (tagged as the preset's
    bootstrapped ref, so nothing is bootstrapped) whose apt sees only the loopback archive and has every other package
    of the stages marked installed."""
    proj = clone_project(tmp_path / "site")
    path = proj / "presets" / f"{DEMO}.json"
    data = json.loads(path.read_text())
    mirror = f"http://127.0.0.1:9/{uuid.uuid4().hex[:8]}"  # never reached: the base is tagged in place (one ref for both stages)
    for stage in ("builder", "runtime"):
        data["base"][stage]["bootstrap"]["mirror"] = mirror
    data["apt"]["build"].append("airlock-fake")
    data["apt"]["runtime"].append("airlock-fake")
    path.write_text(json.dumps(data, indent=2))
    preset = load_preset(Project.here(proj), DEMO)
    demo = load_preset(Project.here(clone_project(tmp_path / "orig")), DEMO)
    images.make_available(images.base_image(demo, "builder"), demo.platform)
    others = sorted({p for s in ("builder", "runtime") for p in debs.stage_packages(preset, s)} - {"airlock-fake"})
    status = "".join(f"\nPackage: {p}\nStatus: install ok installed\nArchitecture: all\nVersion: 1\n" for p in others)
    ref = images.base_image(preset, "builder").ref
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "status").write_text(status)
    (ctx / "sources.list").write_text(f"deb [trusted=yes] {archive.url}/ ./\n")
    (ctx / "Dockerfile").write_text(
        f"FROM {images.base_image(demo, 'builder').ref}\nCOPY sources.list /etc/apt/sources.list\nCOPY status /tmp/status\n"
        "RUN cat /tmp/status >> /var/lib/dpkg/status && rm /tmp/status\n"
    )
    subprocess.run(["docker", "build", "--network=none", "-q", "-t", ref, str(ctx)], check=True, capture_output=True)
    try:
        yield proj
    finally:
        subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True)


def test_archive_dropping_a_pinned_version_is_one_line_naming_it(site: Path, archive: Archive) -> None:
    """Locked at airlock-fake 1.0; the archive now serves only 2.0: sync says so in one line (stage, package, version,
    pool URL, the re-lock command), exit 3, and the lock is not rewritten; a re-lock then pins 2.0 and sync fetches it."""
    archive.publish(dict([_entry("airlock-fake", "1.0")]))
    ok(inv(site, "lock", "--preset", DEMO, "--only", "system"), "inv lock --only system")
    lock_file = site / "locks" / f"{DEMO}.system.json"
    before = lock_file.read_bytes()
    assert [d.version for d in syslock.read(lock_file).stage("runtime").debs] == ["1.0"]  # type: ignore[union-attr]
    archive.publish(dict([_entry("airlock-fake", "2.0")]))
    proc = inv(site, "sync", "--preset", DEMO, "--only", "debs")
    assert proc.returncode == ExitCode.EXTERNAL
    line = _one_line(proc)
    assert line.startswith(f"airlock: error: locks/{DEMO}.system.json: builder: the archive no longer serves airlock-fake 1.0 ({archive.url}/./airlock-fake_1.0_all.deb")
    assert line.endswith(f"re-lock with: inv lock --preset {DEMO} --only system --upgrade")
    # the command the line names is the one that re-locks (a plain lock keeps a lock whose preset is unchanged)
    assert "fresh, kept" in ok(inv(site, "lock", "--preset", DEMO, "--only", "system"), "plain re-lock").stdout
    assert lock_file.read_bytes() == before and not (site / "artifacts" / DEMO / "debs" / "builder").exists()
    ok(inv(site, "lock", "--preset", DEMO, "--only", "system", "--upgrade"), "re-lock")
    ok(inv(site, "sync", "--preset", DEMO, "--only", "debs"), "sync after the re-lock")
    assert (site / "artifacts" / DEMO / "debs" / "runtime" / "airlock-fake_2.0_all.deb").is_file()


def test_a_pinned_version_republished_with_other_bytes_or_other_dependencies_is_refused(site: Path, archive: Archive) -> None:
    """The same version with new dependencies: a stale-lock line naming what apt wants beyond the lock (exit 1); with
    other bytes: a sha256 mismatch naming the file, the lock and both digests (exit 1). The stage's folder is not written."""
    archive.publish(dict([_entry("airlock-fake", "1.0")]))
    ok(inv(site, "lock", "--preset", DEMO, "--only", "system"), "inv lock --only system")
    archive.publish(dict([_entry("airlock-fake", "1.0", depends="airlock-extra", salt=b"2"), _entry("airlock-extra", "1.0")]))
    proc = inv(site, "sync", "--preset", DEMO, "--only", "debs")
    assert proc.returncode == ExitCode.INTEGRITY
    line = _one_line(proc)
    assert f"locks/{DEMO}.system.json is stale against" in line and "apt wants airlock-extra 1.0 beyond the lock" in line
    assert line.endswith(f"re-lock with: inv lock --preset {DEMO} --only system --upgrade")
    archive.publish(dict([_entry("airlock-fake", "1.0", salt=b"3")]))
    proc = inv(site, "sync", "--preset", DEMO, "--only", "debs")
    assert proc.returncode == ExitCode.INTEGRITY
    line = _one_line(proc)
    assert f"locks/{DEMO}.system.json: builder: airlock-fake_1.0_all.deb from {archive.url}/./airlock-fake_1.0_all.deb" in line
    assert "sha256 mismatch: expected " in line
    assert not (site / "artifacts" / DEMO / "debs" / "builder").exists()


def test_a_base_that_is_not_the_pinned_one_is_refused_and_not_left_in_the_store(site: Path, archive: Archive) -> None:
    """Locked on one base; the engine's base under that tag now has one more package installed (what a re-bootstrap
    after a point release gives): sync of the images says so in one line, exit 1, and leaves no tarball behind, so
    the next sync does not find (and re-save) an unindexed one; every later sync says the same."""
    archive.publish(dict([_entry("airlock-fake", "1.0")]))
    ok(inv(site, "lock", "--preset", DEMO, "--only", "system"), "inv lock --only system")
    preset = load_preset(Project.here(site), DEMO)
    img = images.base_image(preset, "builder")
    subprocess.run(["docker", "build", "--network=none", "-q", "-t", img.ref, "-"], check=True, capture_output=True, text=True,
                   input=f"FROM {img.ref}\nRUN printf '\\nPackage: airlock-drift\\nStatus: install ok installed\\nArchitecture: all\\nVersion: 1\\n' >> /var/lib/dpkg/status\n")
    store = site / "artifacts" / DEMO
    for _ in range(2):
        proc = inv(site, "sync", "--preset", DEMO, "--only", "images")
        assert proc.returncode == ExitCode.INTEGRITY, proc.stderr
        line = _one_line(proc)
        assert f"locks/{DEMO}.system.json: builder base {img.ref} is not the pinned one (installed packages differ: " in line, line
        assert "airlock-drift" in line and line.endswith(f"re-lock with: inv lock --preset {DEMO} --only system --upgrade"), line
        assert not list((store / "images").glob("*.tar")), sorted((store / "images").iterdir())
        assert "removed" not in proc.stdout, proc.stdout
