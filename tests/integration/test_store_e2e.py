"""inv sync + inv verify on the demo preset, against PyPI, Debian's archive and the engine."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, inv
from tests.integration.conftest import ok

pytestmark = [pytest.mark.docker, pytest.mark.network]


def test_sync_fills_the_store_and_verify_passes(synced_demo: Path) -> None:
    """After a real sync, verify passes and the store has every kind of artifact."""
    ok(inv(REPO, "verify", "--preset", DEMO), "inv verify")
    for sub in ("wheels", "debs/builder", "debs/runtime", "sources", "images"):
        assert any((synced_demo / sub).iterdir()), f"{sub} is empty"
    kinds = {e["kind"] for e in json.loads((synced_demo / "manifest.json").read_text())["entries"]}
    assert {"wheel", "deb", "source", "image"} <= kinds


def test_sha256sums_passes_coreutils_strict_check(synced_demo: Path) -> None:
    """`sha256sum -c --strict SHA256SUMS` passes inside the store folder, without airlock."""
    proc = subprocess.run(["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"], cwd=synced_demo, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    listed = len((synced_demo / "SHA256SUMS").read_text().splitlines())
    files = [p for p in synced_demo.rglob("*") if p.is_file() and p.name not in ("SHA256SUMS", "manifest.json")]
    assert listed == len(files)


def test_second_sync_downloads_nothing(synced_demo: Path) -> None:
    """A second sync of an unchanged preset fetches 0 bytes and changes no file."""
    before = {p: p.stat().st_mtime_ns for p in synced_demo.rglob("*") if p.is_file() and p.name not in ("manifest.json", "SHA256SUMS")}
    proc = ok(inv(REPO, "sync", "--preset", DEMO), "second sync")
    assert "downloaded 0 bytes" in proc.stdout.splitlines(), proc.stdout
    after = {p: p.stat().st_mtime_ns for p in synced_demo.rglob("*") if p.is_file() and p.name not in ("manifest.json", "SHA256SUMS")}
    assert before == after


def test_dry_run_plan_of_synced_store_is_empty(synced_demo: Path) -> None:
    """--dry-run on a synced store plans no fetch and no removal."""
    proc = ok(inv(REPO, "sync", "--preset", DEMO, "--dry-run"), "dry run")
    assert " + " not in proc.stdout and " - " not in proc.stdout, proc.stdout


def test_verify_names_a_corrupted_deleted_and_added_file(synced_demo: Path, tmp_path: Path) -> None:
    """In a copy of the synced store, one flipped byte, one deleted and one added file are each named."""
    from tests.conftest import clone_project

    proj = clone_project(tmp_path / "site", artifacts_of=(DEMO,))
    store = proj / "artifacts" / DEMO
    victim = sorted((store / "wheels").iterdir())[0]
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.unlink()  # break the hard link before writing
    victim.write_bytes(bytes(data))
    gone = sorted((store / "debs" / "runtime").glob("*.deb"))[0]
    gone.unlink()
    (store / "sources" / "extra.tar").write_bytes(b"not listed")
    proc = inv(proj, "verify", "--preset", DEMO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout + proc.stderr
    for p in (victim, gone, store / "sources" / "extra.tar"):
        assert p.relative_to(store).as_posix() in out, out


def test_after_a_lock_change_only_the_difference_moves(synced_demo: Path, tmp_path: Path) -> None:
    """Dropping uvicorn and adding six: sync fetches only six's wheel and removes the wheels no longer wanted."""
    from tests.conftest import clone_project

    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    req = proj / "presets" / f"{DEMO}.in"
    req.write_text(req.read_text().replace("uvicorn\n", "six\n"))
    ok(inv(proj, "lock", "--preset", DEMO), "re-lock")
    lock = (proj / "locks" / f"{DEMO}.txt").read_text()
    assert "six==" in lock and "uvicorn==" not in lock
    proc = ok(inv(proj, "sync", "--preset", DEMO), "incremental sync")
    store = proj / "artifacts" / DEMO
    six = [p for p in (store / "wheels").iterdir() if p.name.startswith("six-")]
    assert len(six) == 1
    assert f"downloaded {six[0].stat().st_size} bytes" in proc.stdout.splitlines(), proc.stdout
    assert "removed wheels/uvicorn-" in proc.stdout
    assert not any(p.name.startswith("uvicorn-") for p in (store / "wheels").iterdir())
    ok(inv(proj, "verify", "--preset", DEMO), "verify after incremental sync")


def test_only_some_phases_into_a_fresh_store_reports_each_file_and_indexes_what_it_has(tmp_path: Path) -> None:
    """--only wheels,sources on an empty store: one progress line per file with the phase's bytes and rate,
    a summary with 0 image and deb files, and a manifest/SHA256SUMS over exactly what was fetched."""
    from tests.conftest import clone_project

    proj = clone_project(tmp_path / "p")
    proc = ok(inv(proj, "sync", "--preset", DEMO, "--only", "wheels,sources"), "partial sync")
    store = proj / "artifacts" / DEMO
    got = sorted(p.name for p in (store / "wheels").iterdir()) + sorted(p.name for p in (store / "sources").iterdir())
    lines = proc.stdout.splitlines()
    for name in got:
        assert any(ln.split("] ", 1)[-1].startswith(f"{name} ") and ln.endswith("MB/s") for ln in lines), f"no progress line for {name}:\n{proc.stdout}"
    n = len(list((store / "wheels").iterdir()))
    assert any(ln.startswith(f"wheels   [{n}/{n}] ") for ln in lines)
    rows = {ln.split()[0]: ln.split() for ln in lines if ln.split() and ln.split()[0] in ("images", "debs", "wheels", "sources")}
    assert rows["images"][1] == "0" and rows["debs"][1] == "0" and rows["wheels"][1] == str(n), proc.stdout
    entries = json.loads((store / "manifest.json").read_text())["entries"]
    assert sorted(e["path"].split("/", 1)[1] for e in entries) == sorted(got)
    check = subprocess.run(["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"], cwd=store, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_gpu_preset_wheel_plan_resolves_for_its_target_without_downloading(tmp_path: Path) -> None:
    """The CUDA 12.1 preset (Ubuntu 22.04, Python 3.11): every locked pin has a wheel for cp311 manylinux x86_64,
    torch's among them; --dry-run fetches nothing. (This machine cannot make an Ubuntu base, so this preset is
    exercised here as far as lock and wheels go.)"""
    from tests.conftest import clone_project

    gpu = "ubuntu22.04-cuda12.1-torch2.3"
    proj = clone_project(tmp_path / "p")
    proc = ok(inv(proj, "sync", "--preset", gpu, "--only", "wheels", "--dry-run"), "GPU wheel plan")
    planned = [ln.strip().removeprefix("+ wheels/") for ln in proc.stdout.splitlines() if ln.strip().startswith("+ wheels/")]
    pins = [ln.split("==")[0] for ln in (proj / "locks" / f"{gpu}.txt").read_text().splitlines() if "==" in ln and not ln.startswith((" ", "#"))]
    assert len(planned) == len(pins), proc.stdout
    assert any(w.startswith("torch-2.3.1-cp311-cp311-manylinux") for w in planned), planned
    assert all("-cp311-" in w or "-py3-" in w or "-abi3-" in w or "py2.py3" in w for w in planned), planned
    assert not (proj / "artifacts" / gpu).exists() or not any((proj / "artifacts" / gpu).rglob("*.whl"))


def test_an_engine_image_under_the_bases_tag_gives_way_to_the_stores_tarball(synced_demo: Path) -> None:
    """The engine holds another image under the base's tag (the base bootstrapped again on this
    machine, say): build and the debs phase use the store's tarball, which verify vouched for,
    loaded over it, not the engine's image."""
    from airlock import docker, images
    from airlock.presets import load_preset_file
    from airlock.store import layout

    img = images.base_image(load_preset_file(REPO / "presets" / f"{DEMO}.json"), "builder")
    tar = synced_demo / layout.image(img.tar_name)
    want = images.image_id_from_tar(tar)
    assert want is not None
    squat = subprocess.run([docker.client(), "import", "-", img.ref], input=b"\0" * 1024, capture_output=True, check=True)
    assert docker.image_id(img.ref) not in (None, want), squat.stdout
    assert images.for_resolving(img, synced_demo, "linux/amd64") == want
    assert docker.image_id(img.ref) == want
    # and build's own call, when the tag was moved again
    subprocess.run([docker.client(), "import", "-", img.ref], input=b"\0" * 1024, capture_output=True, check=True)
    assert images.ensure_loaded(img, synced_demo / layout.IMAGES) == want
    assert docker.image_id(img.ref) == want
