"""inv verify on small real stores: every flipped byte, deleted or added file is named."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock import debs, images, lockfile, syslock
from airlock.store import manifest
from airlock.fsutil import sha256_file
from airlock.lock import input_digest
from airlock.presets import Preset, load_preset
from airlock.project import Project
from airlock.target import Target
from airlock.verify import verify_store
from tests.conftest import DEMO, REPO, inv
from tests.debpkg import tar_bytes

WHEELS = {
    "numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl": ("numpy", "1.26.4"),
    "idna-3.20-py3-none-any.whl": ("idna", "3.20"),
}


#: The demo's base image tarball (both stages share one bootstrapped base).
IMAGE = "images/airlock-base_debian12_bookworm-minbase-f8f9def88e62.tar"
SOURCE = "sources/ffmpeg_5.1.9.orig.tar.xz"


#: the dpkg status of the test's base image: what its system lock pins
STATUS = (
    "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\nVersion: 12.4+deb12u15\n\n"
    "Package: libc6\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.36-9+deb12u13\n\n"
    "Package: gone\nStatus: deinstall ok config-files\nArchitecture: amd64\nVersion: 1\n"
)


def _docker_save_tar(image_id: str, status: str = STATUS) -> bytes:
    """A tarball shaped like ``docker save``'s: its manifest.json names the image's config (so its id), its one layer holds a dpkg status."""
    layer = tar_bytes({"./etc/hostname": b"x\n", "./var/lib/dpkg/status": status.encode()})
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in (("manifest.json", json.dumps([{"Config": f"{image_id}.json", "RepoTags": ["x:y"], "Layers": ["l1/layer.tar"]}]).encode()),
                           ("l1/layer.tar", layer)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def make_store(root: Path) -> Path:
    """A project at ``root`` with the demo preset (its FFmpeg pin made to match the store's archive), a
    matching lock, and a store that holds everything the preset asks for: wheels, both stages' .deb
    sets resolved against the saved base, the source archive, the base image tarball."""
    for name in ("presets",):
        shutil.copytree(REPO / name, root / name)
    shutil.copy(REPO / "tasks.py", root / "tasks.py")
    shutil.copytree(REPO / "airlock", root / "airlock", ignore=shutil.ignore_patterns("__pycache__"))
    proj = Project(root)
    files: dict[str, bytes] = {f"wheels/{fn}": os.urandom(2000 + i * 300) for i, fn in enumerate(WHEELS)}
    files[SOURCE] = os.urandom(5000)
    data = json.loads(proj.preset_path(DEMO).read_text())
    data["ffmpeg"]["sha256"] = hashlib.sha256(files[SOURCE]).hexdigest()
    proj.preset_path(DEMO).write_text(json.dumps(data, indent=2) + "\n")
    preset = load_preset(proj, DEMO)
    store = proj.artifacts(DEMO)
    base_id = "ab" * 32
    assert images.base_image(preset, "builder").tar_name == IMAGE.split("/")[1]
    files[IMAGE] = _docker_save_tar(base_id)
    for stage in images.STAGES:
        deb = os.urandom(4096)
        files[f"debs/{stage}/python3.11_3.11.2-6_amd64.deb"] = deb
        files[f"debs/{stage}/Packages"] = (
            f"Package: python3.11\nVersion: 3.11.2-6\nFilename: ./python3.11_3.11.2-6_amd64.deb\nSHA256: {hashlib.sha256(deb).hexdigest()}\n"
        ).encode()
        files[f"debs/{stage}/inputs.json"] = (json.dumps(
            {"base": f"sha256:{base_id}", "packages": list(debs.stage_packages(preset, stage)), "platform": preset.platform}, indent=2, sort_keys=True
        ) + "\n").encode()
    for rel, data in files.items():
        (store / rel).parent.mkdir(parents=True, exist_ok=True)
        (store / rel).write_bytes(data)
    pins = tuple(
        lockfile.Pin(name, version, (hashlib.sha256(files[f"wheels/{fn}"]).hexdigest(),))
        for fn, (name, version) in WHEELS.items()
    )
    lock = lockfile.Lockfile(DEMO, "uv test", Target.for_preset(preset).label, input_digest(proj, preset), "https://pypi.org/simple", (), pins)
    proj.locks_dir.mkdir()
    proj.lock_path(DEMO).write_text(lockfile.render(lock))
    entries = tuple(
        manifest.Entry(rel, "other", "test", "", len(data), hashlib.sha256(data).hexdigest()) for rel, data in sorted(files.items())
    )
    man = manifest.Manifest(DEMO, lock.input_digest, sha256_file(proj.lock_path(DEMO)), sha256_file(proj.preset_path(DEMO)), "2026-01-01T00:00:00Z", "test", entries)
    manifest.write_store_index(store, man)
    write_system_lock(proj, preset, {stage: {f"debs/{stage}/python3.11_3.11.2-6_amd64.deb": files[f"debs/{stage}/python3.11_3.11.2-6_amd64.deb"]} for stage in images.STAGES})
    return store


def write_system_lock(proj: Project, preset: Preset, stage_debs: dict[str, dict[str, bytes]], status: str = STATUS) -> syslock.SystemLock:
    """locks/<preset>.system.json pinning ``stage_debs`` (store path -> bytes) and a base whose installed set is ``status``'s."""
    stages = {}
    for stage in images.STAGES:
        img = images.base_image(preset, stage)
        bs = img.base.bootstrap
        assert bs is not None
        base = syslock.BasePin(ref=img.ref, suite=bs.suite, mirror=bs.mirror, variant=bs.variant, components=bs.components, installed=syslock.parse_status(status))
        pins = []
        for rel, data in stage_debs[stage].items():
            fn = rel.rsplit("/", 1)[1]
            pkg, ver, arch = fn.removesuffix(".deb").split("_")
            pins.append(syslock.DebPin(package=pkg, version=ver, arch=arch, size=len(data), sha256=hashlib.sha256(data).hexdigest(), filename=fn,
                                       url=f"http://deb.debian.org/debian/pool/main/p/{pkg}/{fn}", origin="Debian:12.12/stable"))
        stages[stage] = syslock.StageLock(base=base, packages=debs.stage_packages(preset, stage), debs=tuple(pins))
    lock = syslock.SystemLock(schema=1, preset=preset.name, platform=preset.platform, inputs=syslock.input_digest(preset), locked="20261126T120000Z", stages=stages)  # type: ignore[arg-type]
    syslock.write(syslock.lock_path(proj.locks_dir, preset.name), lock)
    return lock


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("pristine") / "proj")


def _copy(pristine: Path, tmp: Path) -> tuple[Project, Path]:
    dst = tmp / "proj"
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(pristine.parent.parent, dst)
    return Project(dst), dst / "artifacts" / DEMO


def test_clean_store_verifies(pristine: Path, tmp_path: Path) -> None:
    """A consistent store has no findings."""
    proj, _ = _copy(pristine, tmp_path)
    assert verify_store(proj, DEMO).findings == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_single_flipped_byte_is_detected_and_named(pristine: Path, tmp_path: Path, data: st.DataObject) -> None:
    """Flipping one byte anywhere in any artifact is found, and the finding names that file."""
    proj, store = _copy(pristine, tmp_path)
    files = sorted(p for p in store.rglob("*") if p.is_file() and p.name not in manifest.INDEX_FILES)
    victim = data.draw(st.sampled_from(files))
    blob = bytearray(victim.read_bytes())
    i = data.draw(st.integers(0, len(blob) - 1))
    blob[i] ^= data.draw(st.integers(1, 255))
    victim.write_bytes(bytes(blob))
    findings = verify_store(proj, DEMO).findings
    rel = victim.relative_to(store).as_posix()
    assert any(f.code == "sha256" and f.path == rel for f in findings), findings


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_deleted_and_added_files_are_named(pristine: Path, tmp_path: Path, data: st.DataObject) -> None:
    """A deleted file and an added file are both reported, in the same run."""
    proj, store = _copy(pristine, tmp_path)
    files = sorted(p for p in store.rglob("*") if p.is_file() and p.name not in manifest.INDEX_FILES)
    gone = data.draw(st.sampled_from(files))
    gone.unlink()
    sub = data.draw(st.sampled_from(["wheels", "sources", "debs/runtime", "images", "."]))
    name = data.draw(st.from_regex(r"[a-z]{1,8}\.(bin|part|txt)", fullmatch=True))
    added = store / sub / name
    added.write_bytes(b"intruder")
    findings = verify_store(proj, DEMO).findings
    assert any(f.code == "missing" and f.path == gone.relative_to(store).as_posix() for f in findings)
    assert any(f.code == "extra" and f.path == added.relative_to(store).as_posix() for f in findings)


def test_sums_disagreeing_with_manifest_is_reported(pristine: Path, tmp_path: Path) -> None:
    """Editing SHA256SUMS alone is caught."""
    proj, store = _copy(pristine, tmp_path)
    sums = store / "SHA256SUMS"
    lines = sums.read_text().splitlines()
    lines[0] = "f" * 64 + lines[0][64:]
    sums.write_text("\n".join(lines) + "\n")
    assert [f.code for f in verify_store(proj, DEMO).findings] == ["sums"]


def test_coverage_wrong_platform_duplicate_and_uncovered(pristine: Path, tmp_path: Path) -> None:
    """A wheel for another platform is foreign, its pin uncovered; all named in one run."""
    proj, store = _copy(pristine, tmp_path)
    lock = lockfile.read(proj.lock_path(DEMO))
    numpy = next(p for p in lock.pins if p.name == "numpy")
    old = store / "wheels" / next(fn for fn in WHEELS if fn.startswith("numpy"))
    mac = store / "wheels" / "numpy-1.26.4-cp311-cp311-macosx_11_0_arm64.whl"
    old.rename(mac)
    man = manifest.read_manifest(store)
    entries = tuple(manifest.Entry(f"wheels/{mac.name}", e.kind, e.origin, e.version, e.size, e.sha256) if e.path == f"wheels/{old.name}" else e for e in man.entries)
    manifest.write_store_index(store, manifest.Manifest(**{**man.__dict__, "entries": entries}))
    codes = {(f.code, f.path) for f in verify_store(proj, DEMO).findings}
    assert ("foreign", f"wheels/{mac.name}") in codes
    assert ("uncovered", f"numpy=={numpy.version}") in codes


def test_stale_lock_and_stale_artifacts_name_the_fix(pristine: Path, tmp_path: Path) -> None:
    """Changing the requirements makes the lock stale; changing the lock makes the store stale."""
    proj, store = _copy(pristine, tmp_path)
    req = proj.presets_dir / f"{DEMO}.in"
    req.write_text(req.read_text() + "requests\n")
    found = {f.code: f for f in verify_store(proj, DEMO).findings}
    assert "stale-lock" in found and f"inv lock --preset {DEMO}" in found["stale-lock"].message
    lockp = proj.lock_path(DEMO)
    lockp.write_text(lockp.read_text() + "\n")
    found = {f.code: f for f in verify_store(proj, DEMO).findings}
    assert "stale-artifacts" in found and f"inv sync --preset {DEMO}" in found["stale-artifacts"].message


def test_inv_verify_exit_codes_and_json(pristine: Path, tmp_path: Path) -> None:
    """inv verify: 0 clean, 1 with every finding listed, --json for machines, 2 for an unknown preset."""
    proj, store = _copy(pristine, tmp_path)
    assert inv(proj.root, "verify").returncode == 0
    (store / "sources" / "extra.bin").write_bytes(b"x")
    (store / IMAGE).unlink()
    proc = inv(proj.root, "verify", "--preset", DEMO)
    assert proc.returncode == 1
    assert "sources/extra.bin" in proc.stderr and IMAGE in proc.stderr and "Traceback" not in proc.stderr
    proc = inv(proj.root, "verify", "--json")
    assert proc.returncode == 1
    data = json.loads(proc.stdout)
    assert {f["path"] for f in data["presets"][0]["findings"]} == {"sources/extra.bin", IMAGE}
    proc = inv(proj.root, "verify", "--preset", "nope")
    assert proc.returncode == 2 and proc.stderr.startswith("airlock: error:")


def test_sha256sums_is_accepted_by_coreutils(pristine: Path) -> None:
    """The SHA256SUMS airlock writes passes `sha256sum -c --strict`."""
    import subprocess

    proc = subprocess.run(["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"], cwd=pristine, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@settings(max_examples=50, deadline=None)
@given(
    st.lists(
        st.builds(
            manifest.Entry,
            path=st.from_regex(r"(wheels|debs/runtime|sources|images)/[a-z0-9][a-z0-9._+-]{0,30}", fullmatch=True),
            kind=st.sampled_from(manifest.KINDS),
            origin=st.text(max_size=40),
            version=st.text(max_size=10),
            size=st.integers(0, 2**40),
            sha256=st.from_regex(r"[0-9a-f]{64}", fullmatch=True),
        ),
        unique_by=lambda e: e.path,
        max_size=20,
    )
)
def test_manifest_and_sums_round_trip(entries: list[manifest.Entry]) -> None:
    """manifest.json and SHA256SUMS parse back to what was rendered."""
    man = manifest.Manifest("p", "sha256:" + "0" * 64, "a" * 64, "b" * 64, "2026-01-01T00:00:00Z", "0", tuple(sorted(entries, key=lambda e: e.path)))
    assert manifest.parse_manifest(manifest.render_manifest(man)) == (man, [])
    assert manifest.parse_sha256sums(manifest.render_sha256sums(entries)) == ({e.path: e.sha256 for e in entries}, [])
