"""The store can be trusted: confined paths, strays reported never adopted, every index line checked, one writer.

All on real files in tmp_path; the writer lock against real second processes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airlock import lockfile
from airlock.errors import BusyError, InputError
from airlock.project import Project
from airlock.store import layout, manifest, writer
from airlock.sync import write_index
from airlock.verify import verify_store
from tests.conftest import DEMO
from tests.test_verify import IMAGE, _copy, make_store

SHA = "a" * 64


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_store(tmp_path_factory.mktemp("pristine") / "proj")


# ------------------------------------------------------------------ layout: paths


@pytest.mark.parametrize(
    ("rel", "why"),
    [
        ("wheels/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.whl", None),
        ("debs/runtime/Packages", None),
        ("wheels/../../../../outside/victim.txt", "not a normal path"),
        ("/etc/passwd", "not a relative POSIX path"),
        ("wheels//x.whl", "not a normal path"),
        ("wheels/./x.whl", "not a normal path"),
        ("wheels\\x.whl", "not a relative POSIX path"),
        ("wheels/x.whl\n0000  forged", "control character"),
        ("wheels/\x1b[31mred.whl", "control character"),
        (".env", "not inside one of"),
        ("wheels", "not inside one of"),
        ("etc/passwd", "not inside one of"),
        ("wheels/x.whl.part", "never indexed"),
        ("", "empty path"),
        ("wheels/" + "a" * 2000, "longer than"),
    ],
)
def test_check_rel_accepts_only_confined_normal_printable_paths(rel: str, why: str | None) -> None:
    """An index path is relative, normal, inside one of the store's folders, printable, and not a *.part."""
    got = layout.check_rel(rel)
    assert (got is None) if why is None else (got is not None and why in got), got


def test_walk_never_follows_a_symlink_and_reports_every_stray(tmp_path: Path) -> None:
    """Regular files in the folders are listed; symlinks (to files or folders), fifos, root files and odd names are strays; *.part are parts."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.whl").write_bytes(b"secret")
    store = tmp_path / "artifacts" / DEMO
    (store / "wheels").mkdir(parents=True)
    (store / "wheels" / "a.whl").write_bytes(b"a")
    (store / "wheels" / "b.whl.part").write_bytes(b"b")
    (store / "wheels" / "passwd.whl").symlink_to("/etc/passwd")
    (store / "sources").symlink_to(outside)
    os.mkfifo(store / "wheels" / "pipe.whl")
    (store / ".env").write_text("TOKEN=x\n")
    (store / "wheels" / "new\nline.whl").write_bytes(b"n")
    (store / "manifest.json").write_text("{}")
    got = layout.walk(store)
    assert got.files == {"wheels/a.whl": store / "wheels" / "a.whl"}
    assert got.parts == ["wheels/b.whl.part"]
    assert dict(got.strays) == {
        ".env": "not inside one of images/, debs/, wheels/, sources/, builds/, prebuilt/",
        "sources": "symlink (to a folder)",
        "wheels/passwd.whl": "symlink",
        "wheels/pipe.whl": "not a regular file",
        "wheels/new\nline.whl": "control character in path",
    }
    assert layout.printable("wheels/new\nline.whl") == "wheels/new\\x0aline.whl"


# ------------------------------------------------------------------ manifest and SHA256SUMS parsing


def _manifest_text(entries: list[object]) -> str:
    return json.dumps({"preset": DEMO, "lock_digest": "", "lock_sha256": "", "preset_sha256": "", "created": "", "airlock_version": "", "entries": entries})


def _e(path: str, **kw: object) -> dict[str, object]:
    return {"path": path, "kind": "wheel", "origin": "o", "version": "1", "size": 1, "sha256": SHA, **kw}


def test_manifest_entries_that_cannot_be_trusted_are_left_out_and_named() -> None:
    """Escaping, absolute or control-character paths, bad sizes, hashes and kinds, and duplicates: each a Problem; the good entries still parse."""
    man, problems = manifest.parse_manifest(_manifest_text([
        _e("wheels/good.whl"),
        _e("wheels/../../../../outside/victim.txt"),
        _e("/etc/passwd"),
        _e("wheels/x\n.whl"),
        _e("wheels/neg.whl", size=-1),
        _e("wheels/bool.whl", size=True),
        _e("wheels/sha.whl", sha256="ABC"),
        _e("wheels/kind.whl", kind="rootkit"),
        _e("wheels/good.whl"),
        "not an object",
        {"path": "wheels/short.whl"},
    ]))
    assert [e.path for e in man.entries] == ["wheels/good.whl"]
    assert [(p.code, p.path) for p in problems] == [
        ("malformed", "wheels/../../../../outside/victim.txt"),
        ("malformed", "/etc/passwd"),
        ("malformed", "wheels/x\\x0a.whl"),
        ("malformed", "wheels/neg.whl"),
        ("malformed", "wheels/bool.whl"),
        ("malformed", "wheels/sha.whl"),
        ("malformed", "wheels/kind.whl"),
        ("duplicate", "wheels/good.whl"),
        ("malformed", "manifest.json:entry 10"),
        ("malformed", "wheels/short.whl"),
    ]
    assert all("\n" not in p.message and "\n" not in p.path for p in problems)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("not json", "malformed manifest (JSONDecodeError"),
        ("[]", "not an object with a list of entries"),
        ('{"entries": []}', "KeyError"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (_manifest_text([]).replace('"entries": []', '"entries": [], "x": ' + "9" * 5000), "a number of 5000 digits"),
    ],
)
def test_a_file_that_is_not_a_manifest_is_one_input_error(text: str, words: str) -> None:
    """Not JSON, not an object, no header, nested too deep, a 5000-digit number: one line naming the file."""
    with pytest.raises(InputError) as exc:
        manifest.parse_manifest(text, "artifacts/x/manifest.json")
    assert str(exc.value).startswith("artifacts/x/manifest.json: malformed manifest (") and words in str(exc.value)
    assert "\n" not in str(exc.value)


def test_sha256sums_malformed_and_duplicate_lines_are_problems_and_parsing_goes_on() -> None:
    """Every bad line is named by number; the lines after it are still read."""
    text = f"{SHA}  wheels/a.whl\nnot a line\n{SHA}  ../escape\n{SHA} wheels/one-space.whl\n{SHA}  wheels/a.whl\n\n{'b' * 64}  wheels/b.whl\n"
    sums, problems = manifest.parse_sha256sums(text)
    assert sums == {"wheels/a.whl": SHA, "wheels/b.whl": "b" * 64}
    assert [(p.code, p.path) for p in problems] == [
        ("malformed", "SHA256SUMS:2"), ("malformed", "SHA256SUMS:3"), ("malformed", "SHA256SUMS:4"),
        ("duplicate", "wheels/a.whl"), ("malformed", "SHA256SUMS:6"),
    ]


@pytest.mark.parametrize("name", ["manifest.json", "SHA256SUMS"])
def test_index_files_that_are_not_utf8_or_not_files_are_one_line(tmp_path: Path, name: str) -> None:
    """Non-UTF-8 bytes, a directory or a symlink where an index file should be: one InputError naming it."""
    path = tmp_path / name
    path.write_bytes(b"\xff\xfe garbage")
    with pytest.raises(InputError, match=rf"^{path}: not UTF-8 text \(byte 0\)"):
        manifest.read_index_text(path)
    path.unlink()
    path.mkdir()
    with pytest.raises(InputError, match=rf"^{path}: is a directory"):
        manifest.read_index_text(path)
    path.rmdir()
    path.symlink_to("/etc/passwd")
    with pytest.raises(InputError, match="is a symlink"):
        manifest.read_index_text(path)


# ------------------------------------------------------------------ verify on real stores


def _codes(proj: Project) -> list[tuple[str, str]]:
    return [(f.code, f.path) for f in verify_store(proj, DEMO).findings]


def test_verify_lists_every_malformed_line_and_still_finds_corruption(pristine: Path, tmp_path: Path) -> None:
    """A malformed SHA256SUMS line is a finding (exit 1), and a corrupted wheel elsewhere is still found in the same run."""
    proj, store = _copy(pristine, tmp_path)
    sums = store / "SHA256SUMS"
    sums.write_text(sums.read_text() + "garbage line\n" + sums.read_text().splitlines()[0] + "\n")
    victim = sorted((store / "wheels").iterdir())[0]
    victim.write_bytes(b"\0" + victim.read_bytes()[1:])
    codes = _codes(proj)
    rel = f"wheels/{victim.name}"
    assert ("malformed", f"SHA256SUMS:{len(sums.read_text().splitlines()) - 1}") in codes
    assert ("duplicate", sums.read_text().splitlines()[0].split("  ", 1)[1]) in codes
    assert ("sha256", rel) in codes


def test_verify_reports_strays_and_never_reads_through_a_symlink(pristine: Path, tmp_path: Path) -> None:
    """A .env at the root, a symlink to /etc/passwd and a symlinked folder are each 'extra'; a manifest entry escaping the store is 'malformed'."""
    proj, store = _copy(pristine, tmp_path)
    (store / ".env").write_text("TOKEN=x\n")
    (store / "passwd").symlink_to("/etc/passwd")
    (store / "wheels" / "evil.whl").symlink_to("/etc/passwd")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "victim.txt").write_bytes(b"v")
    data = json.loads((store / "manifest.json").read_text())
    data["entries"].append({"path": "wheels/../../../../outside/victim.txt", "kind": "other", "origin": "x", "version": "", "size": 1,
                            "sha256": manifest.sha256_file(outside / "victim.txt")})
    (store / "manifest.json").write_text(json.dumps(data))
    codes = _codes(proj)
    assert {("extra", ".env"), ("extra", "passwd"), ("extra", "wheels/evil.whl"), ("malformed", "wheels/../../../../outside/victim.txt")} <= set(codes)


def test_a_truncated_manifest_is_a_finding_and_every_file_is_then_extra(pristine: Path, tmp_path: Path) -> None:
    """verify does not stop at a manifest that is not one: it says so and still lists what is on disk."""
    proj, store = _copy(pristine, tmp_path)
    (store / "manifest.json").write_text('{"entries": [')
    codes = _codes(proj)
    assert codes[0] == ("malformed", "manifest.json")
    assert ("extra", IMAGE) in codes


def test_sync_index_never_adopts_strays(pristine: Path, tmp_path: Path) -> None:
    """write_index lists the folders' regular files only: a root .env and a symlink to /etc/passwd stay out of manifest.json."""
    proj, store = _copy(pristine, tmp_path)
    (store / ".env").write_text("TOKEN=x\n")
    (store / "wheels" / "evil.whl").symlink_to("/etc/passwd")
    from airlock.presets import load_preset

    write_index(proj, load_preset(proj, DEMO), store, {}, {}, 1)
    paths = {e.path for e in manifest.read_manifest(store).entries}
    assert ".env" not in paths and "wheels/evil.whl" not in paths and IMAGE in paths
    assert "evil" not in (store / "SHA256SUMS").read_text()


# ------------------------------------------------------------------ one writer


_HOLDER = """
import sys, time
from pathlib import Path
from airlock.store import writer
with writer.hold(Path(sys.argv[1]), exclusive=sys.argv[2] == "x", doing="test"):
    print("held", flush=True)
    time.sleep(60)
"""


@contextlib.contextmanager
def _holder(store: Path, mode: str) -> Iterator[subprocess.Popen[str]]:
    """A real second process holding ``store`` (``x`` exclusive, ``s`` shared) until it is killed with SIGKILL."""
    proc = subprocess.Popen([sys.executable, "-c", _HOLDER, str(store), mode], stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[1])
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
        yield proc
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_a_reader_is_refused_while_a_writer_holds_the_store_and_kill_9_frees_it(pristine: Path, tmp_path: Path) -> None:
    """verify during a sync is BusyError (exit 4), not 'ok'; the kernel drops the lock of a process killed with SIGKILL."""
    proj, store = _copy(pristine, tmp_path)
    with _holder(store, "x"):
        with pytest.raises(BusyError) as exc:
            verify_store(proj, DEMO)
        assert exc.value.exit_code == 4 and "busy, an inv sync is writing it" in str(exc.value)
    assert verify_store(proj, DEMO).findings == []


def test_a_second_writer_is_refused_while_readers_share_the_store(tmp_path: Path) -> None:
    """Two readers share the store; a writer under a reader is BusyError; the lock file is beside the store, not in it."""
    store = tmp_path / "artifacts" / DEMO
    store.mkdir(parents=True)
    with _holder(store, "s"):
        with writer.hold(store, exclusive=False, doing="read"):
            pass
        with pytest.raises(BusyError, match="another airlock process"):
            with writer.hold(store, exclusive=True, doing="run inv sync"):
                pass
    assert list(store.iterdir()) == [] and (tmp_path / "artifacts" / f".{DEMO}.lock").is_file()


def test_inv_verify_on_a_busy_store_exits_4_with_one_line(pristine: Path, tmp_path: Path) -> None:
    """The real inv: a store held by a writer gives 'airlock: error: ...: busy' and exit 4."""
    from tests.conftest import inv

    proj, store = _copy(pristine, tmp_path)
    with _holder(store, "x"):
        t0 = time.monotonic()
        got = inv(proj.root, "verify", "--preset", DEMO)
    assert got.returncode == 4, got.stderr
    assert got.stderr.strip().splitlines() == [f"airlock: error: {store}: busy, an inv sync is writing it; run inv verify again when it has finished"]
    assert time.monotonic() - t0 < 30  # it did not wait for the writer


# ------------------------------------------------------------------ hostile index files


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(blob=st.binary(max_size=400) | st.text(max_size=400).map(str.encode), which=st.sampled_from(["manifest.json", "SHA256SUMS"]))
def test_any_bytes_as_an_index_file_are_findings_never_a_crash(pristine: Path, tmp_path: Path, blob: bytes, which: str) -> None:
    """Whatever bytes manifest.json or SHA256SUMS hold, verify returns a report with findings (it never raises)."""
    proj, store = _copy(pristine, tmp_path)
    (store / which).write_bytes(blob)
    report = verify_store(proj, DEMO)
    assert report.findings and all("\n" not in str(f) for f in report.findings)


# ------------------------------------------------------------------ two real syncs, and kill -9, against a loopback index


class _SlowIndex(http.server.BaseHTTPRequestHandler):
    """A simple index (PEP 691 JSON) serving ``files`` (name -> bytes); each file download waits ``delay`` seconds first."""

    files: dict[str, bytes] = {}
    delay = 0.0
    fetched: list[str] = []

    def log_message(self, *a: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        parts = self.path.strip("/").split("/")
        if parts[0] == "simple":
            listed = [fn for fn in self.files if fn.split("-")[0] == parts[-1]]
            body = json.dumps({"files": [{"filename": fn, "url": f"/files/{fn}", "hashes": {"sha256": hashlib.sha256(self.files[fn]).hexdigest()}}
                                         for fn in listed]}).encode()
            ctype = "application/vnd.pypi.simple.v1+json"
        elif parts[0] == "files" and parts[-1] in self.files:
            _SlowIndex.fetched.append(parts[-1])
            time.sleep(self.delay)
            body, ctype = self.files[parts[-1]], "application/octet-stream"
        else:
            self.send_response(404)
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client was killed on purpose
            self.wfile.write(body)


@pytest.fixture
def unsynced_wheels(pristine: Path, tmp_path: Path) -> Iterator[tuple[Project, Path]]:
    """A copy of the store whose wheels are gone, its lock pointing at a loopback index that serves them slowly."""
    proj, store = _copy(pristine, tmp_path)
    _SlowIndex.files = {p.name: p.read_bytes() for p in (store / "wheels").iterdir()}
    _SlowIndex.delay, _SlowIndex.fetched = 4.0, []
    for p in (store / "wheels").iterdir():
        p.unlink()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _SlowIndex)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    lock = lockfile.read(proj.lock_path(DEMO))
    proj.lock_path(DEMO).write_text(lockfile.render(dataclasses.replace(lock, index_url=f"http://127.0.0.1:{srv.server_address[1]}/simple")))
    try:
        yield proj, store
    finally:
        srv.shutdown()
        srv.server_close()


def _start_sync(proj: Project) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "AIRLOCK_"))}
    return subprocess.Popen([str(Path(sys.executable).with_name("inv")), "sync", "--preset", DEMO, "--only", "wheels", "--jobs", "1"],
                            cwd=proj.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_download(n: int = 1) -> None:
    deadline = time.monotonic() + 60
    while len(_SlowIndex.fetched) < n:
        assert time.monotonic() < deadline, "the first sync never started downloading"
        time.sleep(0.05)


def test_two_real_syncs_at_once_one_is_busy_and_the_store_stays_whole(unsynced_wheels: tuple[Project, Path]) -> None:
    """While one inv sync downloads, a second exits 4 with one 'busy' line and touches nothing; the first completes and verify is clean."""
    from tests.conftest import inv

    proj, store = unsynced_wheels
    first = _start_sync(proj)
    try:
        _wait_for_download()
        second = inv(proj.root, "sync", "--preset", DEMO, "--only", "wheels")
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 4, second.stderr
    assert second.stderr.strip().splitlines() == [
        f"airlock: error: {store}: busy, another airlock process (sync, verify or build) is using it; run inv sync again when it has finished"
    ]
    assert first.returncode == 0, err
    assert verify_store(proj, DEMO).findings == []


def test_sync_killed_with_sigkill_mid_download_resumes_and_verifies(unsynced_wheels: tuple[Project, Path]) -> None:
    """kill -9 during a download leaves no lock behind: the next sync runs, finishes, and verify is clean."""
    proj, store = unsynced_wheels
    first = _start_sync(proj)
    _wait_for_download()
    first.send_signal(signal.SIGKILL)
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    _SlowIndex.delay = 0.0
    again = _start_sync(proj)
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert verify_store(proj, DEMO).findings == []
    assert sorted(p.name for p in (store / "wheels").iterdir()) == sorted(_SlowIndex.files)


# ------------------------------------------------------------------ hostile inputs: one line, never a traceback


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(
    blob=st.binary(max_size=300) | st.text(max_size=300).map(str.encode) | st.sampled_from([b"\xff\xfe", b"[" * 50_000, b'{"name": 1e999999}', b"9" * 6000]),
    which=st.sampled_from(["preset", "in", "lock"]),
)
def test_any_bytes_as_preset_requirements_or_lock_are_an_airlock_error(pristine: Path, tmp_path: Path, blob: bytes, which: str) -> None:
    """Arbitrary bytes as presets/X.json, presets/X.in or locks/X.txt: loading and verifying end in success or an AirlockError naming the file, on one line."""
    from airlock.errors import AirlockError

    proj, _ = _copy(pristine, tmp_path)
    path = {"preset": proj.preset_path(DEMO), "in": proj.presets_dir / f"{DEMO}.in", "lock": proj.lock_path(DEMO)}[which]
    path.write_bytes(blob)
    try:
        verify_store(proj, DEMO)
    except AirlockError as exc:
        assert "\n" not in str(exc) and path.name in str(exc), str(exc)


# ------------------------------------------------------------------ verify against the preset, not only the index


def _reindex(proj: Project, store: Path) -> None:
    """What an attacker (or a half-finished sync) does: rewrite manifest.json and SHA256SUMS to match the files."""
    from airlock.presets import load_preset

    man = manifest.read_manifest(store)
    write_index(proj, load_preset(proj, DEMO), store, {e.path: (e.kind, e.origin, e.version) for e in man.entries}, {}, 1)
    assert [f for f in verify_store(proj, DEMO).findings if f.code in ("sha256", "size", "sums", "extra")] == []


def _edit_preset(proj: Project, change: Callable[[dict], None]) -> None:  # type: ignore[type-arg]
    data = json.loads(proj.preset_path(DEMO).read_text())
    change(data)
    proj.preset_path(DEMO).write_text(json.dumps(data, indent=2) + "\n")


def test_a_store_without_debs_and_base_image_fails_even_when_reindexed(pristine: Path, tmp_path: Path) -> None:
    """No .deb and no base image, manifest rewritten to match: verify names the missing base image and both stages' sets."""
    proj, store = _copy(pristine, tmp_path)
    shutil.rmtree(store / "debs")
    shutil.rmtree(store / "images")
    _reindex(proj, store)
    codes = _codes(proj)
    assert ("missing", IMAGE) in codes
    assert ("missing", "debs/builder/inputs.json") in codes and ("missing", "debs/runtime/inputs.json") in codes


def test_a_source_that_is_not_the_presets_pin_is_stale_even_when_reindexed(pristine: Path, tmp_path: Path) -> None:
    """Other bytes under the archive's name, with manifest.json and SHA256SUMS rewritten to match: 'stale', naming both digests."""
    proj, store = _copy(pristine, tmp_path)
    src = store / "sources" / "ffmpeg_5.1.9.orig.tar.xz"
    pinned = json.loads(proj.preset_path(DEMO).read_text())["ffmpeg"]["sha256"]
    src.write_bytes(b"a trojan archive")
    _reindex(proj, store)
    found = [f for f in verify_store(proj, DEMO).findings if f.path == "sources/ffmpeg_5.1.9.orig.tar.xz"]
    assert [f.code for f in found] == ["stale"]
    assert pinned in found[0].message and hashlib.sha256(b"a trojan archive").hexdigest() in found[0].message


def test_a_new_runtime_apt_package_makes_the_runtime_set_stale(pristine: Path, tmp_path: Path) -> None:
    """Adding a runtime .deb to the preset without a sync: the runtime set is stale-debs, the builder set is not."""
    proj, _ = _copy(pristine, tmp_path)
    _edit_preset(proj, lambda d: d["apt"]["runtime"].append("libgomp1"))
    codes = _codes(proj)
    assert ("stale-debs", "debs/runtime/inputs.json") in codes and ("stale-debs", "debs/builder/inputs.json") not in codes


def test_a_new_base_makes_the_old_image_unwanted_and_the_new_one_missing(pristine: Path, tmp_path: Path) -> None:
    """Changing the preset's base without a sync: the new base's tarball is missing and the old one is unwanted."""
    proj, _ = _copy(pristine, tmp_path)
    _edit_preset(proj, lambda d: [d["base"][s]["bootstrap"].update(variant="buildd") for s in ("builder", "runtime")])
    codes = _codes(proj)
    assert ("unwanted", IMAGE) in codes
    assert any(c == "missing" and p.startswith("images/airlock-base_debian12_bookworm-buildd-") for c, p in codes), codes


def test_debs_resolved_against_another_base_than_the_saved_one_are_stale(pristine: Path, tmp_path: Path) -> None:
    """inputs.json naming a base id other than the saved tarball's: stale-debs naming both ids."""
    proj, store = _copy(pristine, tmp_path)
    inputs = store / "debs" / "runtime" / "inputs.json"
    data = json.loads(inputs.read_text())
    data["base"] = "sha256:" + "cd" * 32
    inputs.write_text(json.dumps(data))
    _reindex(proj, store)
    found = [f for f in verify_store(proj, DEMO).findings if f.code == "stale-debs"]
    assert [f.path for f in found] == ["debs/runtime/inputs.json"] and "cd" * 32 in found[0].message and "ab" * 32 in found[0].message


def test_a_deb_the_packages_index_names_must_be_in_the_store(pristine: Path, tmp_path: Path) -> None:
    """A .deb deleted and the index rewritten: the stage's Packages still names it, so verify reports it missing."""
    proj, store = _copy(pristine, tmp_path)
    (store / "debs" / "builder" / "python3.11_3.11.2-6_amd64.deb").unlink()
    _reindex(proj, store)
    assert ("missing", "debs/builder/python3.11_3.11.2-6_amd64.deb") in _codes(proj)


def test_build_dry_run_refuses_a_store_that_does_not_fit_the_preset(pristine: Path, tmp_path: Path) -> None:
    """inv build --dry-run stops (exit 1) on a store missing its base image, even with a rewritten index."""
    from tests.conftest import inv

    proj, store = _copy(pristine, tmp_path)
    (store / IMAGE).unlink()
    _reindex(proj, store)
    got = inv(proj.root, "build", "--preset", DEMO, "--dry-run", "--non-interactive")
    assert got.returncode == 1 and f"missing: {IMAGE}" in got.stderr, got.stderr


@pytest.mark.parametrize("url", ["http://deb.debian.org/debian/pool/..", "http://x/ffmpeg.tar.xz?sig=1", "http://x/a/.", "http://x/ffmpeg.tar.xz.part"])
def test_a_source_url_whose_last_part_is_not_a_file_name_is_refused_naming_the_field(url: str) -> None:
    """The archive is stored under the URL's last part: '..', '.', a query or a *.part there is one PresetError on ffmpeg.url."""
    from airlock.errors import PresetError
    from airlock.presets import parse_preset
    from tests.conftest import REPO

    data = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    data["ffmpeg"]["url"] = url
    with pytest.raises(PresetError) as exc:
        parse_preset(data, f"presets/{DEMO}.json")
    assert exc.value.field == "ffmpeg.url" and "is not a plain file name" in str(exc.value) and "\n" not in str(exc.value)


def test_a_store_without_its_manifest_is_a_missing_finding_not_a_crash(pristine: Path, tmp_path: Path) -> None:
    """manifest.json deleted: 'missing: manifest.json' naming the fix, and the files are still listed as extra (exit 1, not 2)."""
    proj, store = _copy(pristine, tmp_path)
    (store / "manifest.json").unlink()
    found = verify_store(proj, DEMO).findings
    assert (found[0].code, found[0].path) == ("missing", "manifest.json") and "run: inv sync --preset" in found[0].message
    assert ("extra", IMAGE) in [(f.code, f.path) for f in found]


def test_sync_never_touches_a_file_outside_the_store(pristine: Path, tmp_path: Path) -> None:
    """A manifest entry escaping the store (right size and sha256) and a symlink to an outside file: after a real
    plan and apply, the outside file is intact, the symlink itself is gone, and neither is in the new index."""
    from airlock.presets import load_preset
    from airlock.sync import apply_sync, gather_sync, plan_sync

    proj, store = _copy(pristine, tmp_path)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "victim.txt"
    victim.write_bytes(b"not airlock's")
    data = json.loads((store / "manifest.json").read_text())
    data["entries"].append({"path": "wheels/../../../../outside/victim.txt", "kind": "wheel", "origin": "x", "version": "",
                            "size": victim.stat().st_size, "sha256": hashlib.sha256(victim.read_bytes()).hexdigest()})
    (store / "manifest.json").write_text(json.dumps(data))
    (store / "wheels" / "evil.whl").symlink_to(victim)
    preset = load_preset(proj, DEMO)
    plan = plan_sync(gather_sync(proj, preset, ("images",), jobs=1))
    assert "wheels/evil.whl" in plan.phases["wheels"].remove
    apply_sync(proj, preset, plan, jobs=1, say=lambda _: None)
    assert victim.read_bytes() == b"not airlock's"
    assert not (store / "wheels" / "evil.whl").is_symlink()
    paths = {e.path for e in manifest.read_manifest(store).entries}
    assert not any("outside" in p or "evil" in p for p in paths) and IMAGE in paths


def test_a_symlinked_store_is_refused_by_sync_and_verify(tmp_path: Path) -> None:
    """artifacts/<preset> as a symlink to another folder: both holders refuse it in one line (exit 2); a symlinked artifacts/ is fine."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (tmp_path / "artifacts").mkdir()
    store = tmp_path / "artifacts" / DEMO
    store.symlink_to(elsewhere)
    for exclusive in (True, False):
        with pytest.raises(InputError, match="is a symlink; airlock reads and writes only inside a real store folder"):
            with writer.hold(store, exclusive=exclusive, doing="test"):
                pass
    real = tmp_path / "disk" / "artifacts"
    (real / DEMO).mkdir(parents=True)
    (tmp_path / "linked").symlink_to(real)
    with writer.hold(tmp_path / "linked" / DEMO, exclusive=True, doing="test"):
        pass
    assert list(elsewhere.iterdir()) == []
