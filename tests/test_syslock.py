"""The system lock's pure parts: what apt and dpkg say, the file format, the one-line messages; verify and sync's
decisions on a store against it."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings

from airlock import images, syslock
from airlock.errors import InputError, IntegrityError
from airlock.presets import load_preset
from airlock.project import Project
from airlock.store import manifest
from airlock.verify import verify_store
from tests.conftest import DEMO, REPO
from tests.strategies import system_locks
from tests.test_verify import IMAGE, STATUS, _docker_save_tar, make_store

SIM = """\
NOTE: This is only a simulation!
Inst perl-base [5.34.0-3ubuntu1] (5.34.0-3ubuntu1.10 Ubuntu:22.04/jammy-updates [amd64])
Inst gcc-12-base [12-20220319-1ubuntu1] (12.3.0-1ubuntu1~22.04.3 Ubuntu:22.04/jammy-updates [amd64]) [libstdc++6:amd64 ]
Inst ca-certificates (20230311+deb12u1 Debian:12.12/stable, Debian-Security:12/stable-security [all])
Conf ca-certificates (20230311+deb12u1 Debian:12.12/stable [all])
"""
URIS = """\
'http://archive.ubuntu.com/ubuntu/pool/main/p/perl/perl-base_5.34.0-3ubuntu1.10_amd64.deb' perl-base_5.34.0-3ubuntu1.10_amd64.deb 1822 SHA256:{a}
'http://archive.ubuntu.com/ubuntu/pool/main/g/gcc-12/gcc-12-base_12.3.0-1ubuntu1~22.04.3_amd64.deb' gcc-12-base_12.3.0-1ubuntu1~22.04.3_amd64.deb 20 SHA256:{b}
'http://deb.debian.org/debian/pool/main/c/ca-certificates/ca-certificates_20230311%2bdeb12u1_all.deb' ca-certificates_20230311+deb12u1_all.deb 155260 SHA256:{c}
""".format(a="a" * 64, b="b" * 64, c="c" * 64)


def test_apt_simulation_and_print_uris_make_the_pins_with_origin_url_size_and_sha256() -> None:
    """Every Inst line becomes a pin: version, arch, the origin apt reports (several too), URL, size and sha256 by file name."""
    pins = syslock.stage_debs(SIM, URIS, "t")
    assert [(d.package, d.version, d.arch, d.origin, d.size, d.sha256[0]) for d in pins] == [
        ("ca-certificates", "20230311+deb12u1", "all", "Debian:12.12/stable, Debian-Security:12/stable-security", 155260, "c"),
        ("gcc-12-base", "12.3.0-1ubuntu1~22.04.3", "amd64", "Ubuntu:22.04/jammy-updates", 20, "b"),
        ("perl-base", "5.34.0-3ubuntu1.10", "amd64", "Ubuntu:22.04/jammy-updates", 1822, "a"),
    ]
    assert pins[0].url.endswith("/ca-certificates_20230311%2bdeb12u1_all.deb")


def test_a_package_apt_gives_no_sha256_for_is_an_error_naming_it() -> None:
    """--print-uris without a SHA256 (an MD5-only index) is refused: one line naming the file."""
    with pytest.raises(Exception, match="apt gave no URL and SHA256 for ca-certificates_20230311"):
        syslock.stage_debs(SIM, URIS.replace("SHA256:" + "c" * 64, "MD5Sum:" + "d" * 32), "t")


def test_dpkg_status_gives_only_installed_packages_sorted() -> None:
    """Config-files-only packages are not installed; the rest sorted by name."""
    assert [(p.name, p.version) for p in syslock.parse_status(STATUS)] == [("base-files", "12.4+deb12u15"), ("libc6", "2.36-9+deb12u13")]


def test_installed_diff_names_the_first_packages_and_counts_the_rest() -> None:
    pin = syslock.parse_status(STATUS)
    got = (syslock.Installed(name="base-files", version="12.4+deb12u16", arch="amd64"),) + tuple(
        syslock.Installed(name=f"p{i}", version="1", arch="all") for i in range(6))
    diff = syslock.installed_diff(pin, got)
    assert diff[0] == "base-files:amd64 12.4+deb12u16 (pinned 12.4+deb12u15)" and "libc6:amd64 2.36-9+deb12u13 missing" in diff
    assert diff[-1] == "and 3 more" and len(diff) == 6


@pytest.mark.parametrize(("url", "snap"), [
    ("http://deb.debian.org/debian/pool/main/g/gcc/gcc_1_amd64.deb", "https://snapshot.debian.org/archive/debian/20261126T120000Z/pool/main/g/gcc/gcc_1_amd64.deb"),
    ("http://deb.debian.org/debian-security/pool/updates/main/o/openssl/x.deb", "https://snapshot.debian.org/archive/debian-security/20261126T120000Z/pool/updates/main/o/openssl/x.deb"),
    ("http://archive.ubuntu.com/ubuntu/pool/main/p/perl/perl-base_5.deb", "https://snapshot.ubuntu.com/ubuntu/20261126T120000Z/pool/main/p/perl/perl-base_5.deb"),
    ("http://127.0.0.1:8000/./x.deb", None),
])
def test_snapshot_url_is_the_pool_path_at_the_lock_time(url: str, snap: str | None) -> None:
    assert syslock.snapshot_url(url, "20261126T120000Z") == snap


def test_not_served_is_one_line_with_stage_package_pool_url_snapshot_and_the_relock_command(tmp_path: Path) -> None:
    proj = Project(make_store(tmp_path / "p").parent.parent)
    lock = syslock.read(syslock.lock_path(proj.locks_dir, DEMO))
    assert lock is not None
    out = "E: Version '3.11.2-6' for 'python3.11' was not found\n" * 2  # apt repeats it per package that wants it
    line = syslock.not_served(DEMO, "builder", lock, syslock.not_found(out))
    assert line == (
        f"locks/{DEMO}.system.json: builder: the archive no longer serves python3.11 3.11.2-6 "
        "(http://deb.debian.org/debian/pool/main/p/python3.11/python3.11_3.11.2-6_amd64.deb; a snapshot archive could serve it: "
        "https://snapshot.debian.org/archive/debian/20261126T120000Z/pool/main/p/python3.11/python3.11_3.11.2-6_amd64.deb); "
        f"re-lock with: inv lock --preset {DEMO} --only system --upgrade"
    )


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d.update(extra=1), "extra: unknown field"),
    (lambda d: d["stages"]["builder"]["debs"][0].update(sha256="zz"), "stages.builder.debs[0].sha256:"),
    (lambda d: d["stages"]["runtime"]["debs"][0].update(url="javascript:alert(1)"), "stages.runtime.debs[0].url:"),
    (lambda d: d.pop("inputs"), "inputs: required field is missing"),
    (lambda d: d.update(schema=2), "schema:"),
])
def test_a_malformed_system_lock_is_one_input_error_naming_file_and_field(tmp_path: Path, edit, field: str) -> None:  # type: ignore[no-untyped-def]
    """Hostile or broken JSON: InputError (exit 2), one line, the file and the field, never a traceback."""
    proj = Project(make_store(tmp_path / "p").parent.parent)
    path = syslock.lock_path(proj.locks_dir, DEMO)
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    with pytest.raises(InputError) as exc:
        syslock.read(path)
    assert str(exc.value).startswith(f"{path}: {field}") and "\n" not in str(exc.value)
    path.write_text("{not json")
    with pytest.raises(InputError, match="not JSON"):
        syslock.read(path)


def test_render_round_trips_and_a_relock_of_the_same_result_keeps_the_file(tmp_path: Path) -> None:
    proj = Project(make_store(tmp_path / "p").parent.parent)
    path = syslock.lock_path(proj.locks_dir, DEMO)
    lock = syslock.read(path)
    assert lock is not None and syslock.parse(syslock.render(lock), "x") == lock
    before = path.read_bytes()
    assert syslock.write(path, lock.model_copy(update={"locked": "20301231T000000Z"})) is False and path.read_bytes() == before
    assert syslock.write(path, lock.model_copy(update={"platform": "linux/arm64"})) is True


def test_dpkg_status_is_read_from_a_docker_save_tarball(tmp_path: Path) -> None:
    tar = tmp_path / "i.tar"
    tar.write_bytes(_docker_save_tar("ab" * 32))
    assert images.dpkg_status_from_tar(tar) == STATUS
    tar.write_bytes(b"not a tar")
    assert images.dpkg_status_from_tar(tar) is None


def test_require_refuses_a_missing_lock_with_input_error_and_a_stale_one_with_integrity_error(tmp_path: Path) -> None:
    proj = Project(make_store(tmp_path / "p").parent.parent)
    preset = load_preset(proj, DEMO)
    assert syslock.require(proj.locks_dir, preset).preset == DEMO
    assert syslock.input_digest(preset.model_copy(update={"description": "other words"})) == syslock.input_digest(preset)
    stale = preset.model_copy(update={"apt": preset.apt.model_copy(update={"runtime": ("tzdata",)})})
    with pytest.raises(IntegrityError, match=rf"locks/{DEMO}.system.json is stale .*; run: inv lock --preset {DEMO} --only system"):
        syslock.require(proj.locks_dir, stale)
    syslock.lock_path(proj.locks_dir, DEMO).unlink()
    with pytest.raises(InputError, match=rf"no system lock .*run: inv lock --preset {DEMO} --only system$"):
        syslock.require(proj.locks_dir, preset)


# ------------------------------------------------------------ verify against the lock


def _copy(tmp_path: Path) -> tuple[Project, Path]:
    store = make_store(tmp_path / "p")
    return Project(store.parent.parent), store


def _reindex(store: Path, rel: str, data: bytes | None) -> None:
    """Change ``rel`` (None: remove it) and rewrite the index to vouch for it: only the lock can tell."""
    man = manifest.read_manifest(store)
    entries = [e for e in man.entries if e.path != rel]
    if data is None:
        (store / rel).unlink()
    else:
        (store / rel).write_bytes(data)
        entries.append(manifest.Entry(rel, "deb", "t", "", len(data), hashlib.sha256(data).hexdigest()))
    manifest.write_store_index(store, replace(man, entries=tuple(sorted(entries, key=lambda e: e.path))))


def _codes(proj: Project) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in verify_store(proj, DEMO).findings]


def test_the_pristine_store_fits_its_system_lock(tmp_path: Path) -> None:
    proj, _ = _copy(tmp_path)
    assert _codes(proj) == []


def test_verify_names_a_swapped_an_unpinned_and_a_missing_deb_against_the_lock(tmp_path: Path) -> None:
    proj, store = _copy(tmp_path)
    deb = "debs/builder/python3.11_3.11.2-6_amd64.deb"
    _reindex(store, deb, b"other bytes")
    _reindex(store, "debs/runtime/evil_1_all.deb", b"evil")
    _reindex(store, "debs/runtime/python3.11_3.11.2-6_amd64.deb", None)
    found = verify_store(proj, DEMO).findings
    msgs = {(f.code, f.path): f.message for f in found if f.message.startswith(f"locks/{DEMO}.system.json")}
    assert msgs[("sha256", deb)].startswith(f"locks/{DEMO}.system.json pins sha256 ")
    assert ("unlocked", "debs/runtime/evil_1_all.deb") in msgs
    assert ("missing", "debs/runtime/python3.11_3.11.2-6_amd64.deb") in msgs


def test_verify_names_a_base_whose_installed_set_is_not_the_pin(tmp_path: Path) -> None:
    proj, store = _copy(tmp_path)
    man = manifest.read_manifest(store)
    tar = _docker_save_tar("ab" * 32, STATUS.replace("2.36-9+deb12u13", "2.36-9+deb12u14"))
    (store / IMAGE).write_bytes(tar)
    entries = [e if e.path != IMAGE else replace(e, size=len(tar), sha256=hashlib.sha256(tar).hexdigest()) for e in man.entries]
    manifest.write_store_index(store, replace(man, entries=tuple(entries)))
    found = [f for f in verify_store(proj, DEMO).findings if f.code == "stale-base"]
    assert len(found) == 1 and found[0].path == IMAGE
    assert "installed packages differ: libc6:amd64 2.36-9+deb12u14 (pinned 2.36-9+deb12u13)" in found[0].message


def test_verify_names_a_missing_or_stale_system_lock_once(tmp_path: Path) -> None:
    proj, _ = _copy(tmp_path)
    path = syslock.lock_path(proj.locks_dir, DEMO)
    data = json.loads(path.read_text())
    data["inputs"] = "sha256:" + "0" * 64
    path.write_text(json.dumps(data))
    assert _codes(proj) == [("stale-lock", f"locks/{DEMO}.system.json")]
    path.unlink()
    assert _codes(proj) == [("stale-lock", f"locks/{DEMO}.system.json")]


def test_build_dry_run_refuses_a_store_that_does_not_fit_the_system_lock(tmp_path: Path) -> None:
    """The same findings stop inv build before anything runs (exit 1)."""
    from tests.conftest import inv

    proj, store = _copy(tmp_path)
    shutil.copy(REPO / "Dockerfile", proj.root / "Dockerfile")
    _reindex(store, "debs/runtime/evil_1_all.deb", b"evil")
    proc = inv(proj.root, "build", "--preset", DEMO, "--dry-run")
    assert proc.returncode == 1 and "unlocked: debs/runtime/evil_1_all.deb" in proc.stdout + proc.stderr


@settings(max_examples=60, deadline=None)
@given(lock=system_locks())
def test_any_system_lock_renders_and_parses_back_to_itself(lock: syslock.SystemLock) -> None:
    """Round trip: what inv lock writes is what sync and verify read."""
    text = syslock.render(lock)
    assert syslock.parse(text, "x") == lock and syslock.render(syslock.parse(text, "x")) == text
