"""Pins that ship only an sdist, offline: the build-deps lock, the provenance record, the install lock, every decision table."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import pytest

from airlock import sdist
from airlock.errors import InputError
from airlock.lockfile import Lockfile, Pin, parse
from airlock.target import Target

T311 = Target("3.11", "x86_64", (2, 36))
SDIST_SHA = "d" * 64
DOCOPT = Pin("docopt", "0.6.2", (SDIST_SHA,))
NUMPY = Pin("numpy", "1.26.4", ("1" * 64, "2" * 64))
MAIN = Lockfile("p", "uv 0.13.9", T311.label, "sha256:" + "0" * 64, "https://pypi.org/simple", (), (DOCOPT, NUMPY))
SETUPTOOLS = Pin("setuptools", "80.9.0", ("5" * 64,), ("sdist builds",))
ENTRY = sdist.SdistEntry("docopt", "0.6.2", SDIST_SHA, ("setuptools>=40.8.0",))
WHEEL = "docopt-0.6.2-py2.py3-none-any.whl"
WHEEL_SHA = "e" * 64


def _bl(*pins: Pin) -> sdist.BuildLock:
    return sdist.make_build_lock("p", "uv 0.13.9", T311.label, "https://pypi.org/simple", (ENTRY,), pins or (SETUPTOOLS,))


def _rec(**kw: object) -> sdist.Provenance:
    base = sdist.Provenance(
        name="docopt", version="0.6.2", sdist_filename="docopt-0.6.2.tar.gz", sdist_sha256=SDIST_SHA,
        sdist_url="https://files/docopt-0.6.2.tar.gz", build_lock_sha256="b" * 64, build_deps=("setuptools==80.9.0",),
        builder_image="airlock-base/debian12:x", builder_id="sha256:" + "c" * 64, builder_debs_sha256="8" * 64,
        target=T311.label, source_date_epoch=1402000000, wheel_filename=WHEEL, wheel_sha256=WHEEL_SHA, wheel_size=13000,
    )  # fmt: skip
    return replace(base, **kw)  # type: ignore[arg-type]


INPUTS = sdist.BuildInputs("b" * 64, "sha256:" + "c" * 64, "8" * 64, T311.label)


# ------------------------------------------------------------------ the build-deps lock


def test_build_lock_round_trips_and_fits_its_lock() -> None:
    """Rendered and parsed again it is the same lock, sdist lines and pins digest included; it fits the lock it was made for."""
    bl = _bl()
    text = sdist.render_build_lock(bl)
    assert sdist.parse_build_lock(text, "locks/p.build.txt") == bl
    assert '# airlock-sdist: {"name":"docopt"' in text and "setuptools==80.9.0 \\\n    --hash=sha256:" + "5" * 64 in text
    assert sdist.check_build_lock(bl, MAIN, "locks/p.build.txt") == []
    assert parse(text).pins == (SETUPTOOLS,)  # pip-tools format: the lock parser reads it as any lock


def test_a_hand_changed_build_dependency_hash_is_caught_offline() -> None:
    """One hex digit of a build dependency's hash changed: the check names the file and says it was edited after inv lock."""
    text = sdist.render_build_lock(_bl()).replace("5" * 64, "5" * 63 + "6")
    problems = sdist.check_build_lock(sdist.parse_build_lock(text, "locks/p.build.txt"), MAIN, "locks/p.build.txt")
    assert len(problems) == 1 and problems[0].startswith("locks/p.build.txt: its pins or hashes were changed after inv lock wrote them")


def test_a_hand_changed_sdist_line_is_caught_offline() -> None:
    """A build requirement edited in an airlock-sdist line no longer matches the input digest."""
    text = sdist.render_build_lock(_bl()).replace("setuptools>=40.8.0", "setuptools>=1")
    problems = sdist.check_build_lock(sdist.parse_build_lock(text, "x"), MAIN, "x")
    assert problems == ["x: its header or airlock-sdist lines were changed after inv lock wrote them; restore it from git, or run: inv lock --preset p"]


@pytest.mark.parametrize(
    "main",
    [
        replace(MAIN, pins=(NUMPY,)),
        replace(MAIN, pins=(Pin("docopt", "0.6.1", (SDIST_SHA,)), NUMPY)),
        replace(MAIN, pins=(Pin("docopt", "0.6.2", ("f" * 64,)), NUMPY)),
    ],
    ids=["pin gone", "other version", "other sdist"],
)
def test_a_build_lock_the_lock_moved_away_from_is_stale(main: Lockfile) -> None:
    """The lock no longer pins the sdist (gone, another version, another file): stale, naming the package and the fix."""
    problems = sdist.check_build_lock(_bl(), main, "locks/p.build.txt")
    assert len(problems) == 1 and "docopt==0.6.2" in problems[0] and problems[0].endswith("run: inv lock --preset p")


def test_a_build_lock_without_its_airlock_lines_is_refused() -> None:
    """A pip-tools file with no pins digest is not a build-deps lock: one line, exit 2."""
    text = sdist.render_build_lock(_bl())
    with pytest.raises(InputError, match="no airlock-pins-sha256 line"):
        sdist.parse_build_lock("\n".join(ln for ln in text.splitlines() if "pins-sha256" not in ln), "x")
    with pytest.raises(InputError, match="line 14: malformed airlock-sdist line"):
        sdist.parse_build_lock(text.replace('"version":"0.6.2"', '"version":6'), "x")


# ------------------------------------------------------------------- reading an sdist


def _tar(path: Path, files: dict[str, tuple[bytes, int]]) -> Path:
    with tarfile.open(path, "w:gz") as tf:
        for name, (data, mtime) in files.items():
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            tf.addfile(info, io.BytesIO(data))
    return path


def test_an_sdist_without_pyproject_gets_pips_default_and_its_newest_time(tmp_path: Path) -> None:
    """No pyproject.toml: setuptools>=40.8.0 (pip's default); SOURCE_DATE_EPOCH is the newest member's time."""
    p = _tar(tmp_path / "docopt-0.6.2.tar.gz", {"docopt-0.6.2/setup.py": (b"", 1402000000), "docopt-0.6.2/docopt.py": (b"", 1402000500)})
    assert sdist.read_sdist(p, "x") == (("setuptools>=40.8.0",), 1402000500)


def test_an_sdist_declares_its_build_requirements_in_pyproject(tmp_path: Path) -> None:
    """The top pyproject.toml's build-system.requires is taken as written; a nested one is not the sdist's."""
    toml = b'[build-system]\nrequires = ["setuptools>=61", "Cython<3"]\nbuild-backend = "setuptools.build_meta"\n'
    p = _tar(tmp_path / "x-1.tar.gz", {"x-1/pyproject.toml": (toml, 1000), "x-1/sub/pyproject.toml": (b"bad [", 1000)})
    assert sdist.read_sdist(p, "x")[0] == ("setuptools>=61", "Cython<3")
    z = tmp_path / "y-1.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr(zipfile.ZipInfo("y-1/pyproject.toml", (1980, 1, 1, 0, 0, 0)), b'[build-system]\nrequires = ["flit_core>=3.2"]\n')
    assert sdist.read_sdist(z, "y") == (("flit_core>=3.2",), sdist.ZIP_EPOCH)  # never older than a zip can hold


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"not [toml", "not valid TOML"), (b"[build-system]\nrequires = 'setuptools'\n", "not a list of strings"), (b"[build-system]\nrequires = ['a b c']\n", "'a b c'")],
)
def test_a_bad_pyproject_names_the_sdist_and_the_field(tmp_path: Path, content: bytes, message: str) -> None:
    """A pyproject that cannot be read is one line naming the sdist and what is wrong."""
    p = _tar(tmp_path / "x-1.tar.gz", {"x-1/pyproject.toml": (content, 1000)})
    with pytest.raises(InputError, match=message) as exc:
        sdist.read_sdist(p, "x==1 (x-1.tar.gz)")
    assert str(exc.value).startswith("x==1 (x-1.tar.gz): ")
    (tmp_path / "junk.tar.gz").write_bytes(b"junk")
    with pytest.raises(InputError, match="not a readable sdist"):
        sdist.read_sdist(tmp_path / "junk.tar.gz", "junk")


# ------------------------------------------------------------------ provenance, install lock


def test_a_provenance_record_round_trips_and_holds_no_time() -> None:
    """Rendered and parsed it is the same record; two renders are the same bytes (a reproduced build writes the same record)."""
    rec = _rec()
    text = sdist.render_provenance(rec)
    assert sdist.parse_provenance(text, rec.rel) == rec and sdist.render_provenance(rec) == text
    assert rec.rel == "builds/docopt-0.6.2.provenance.json"


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('"wheel": {', '"wheel": {"x": 1, ', 1).replace(WHEEL_SHA, "E" * 64), "wheel_sha256 is not 64"),
        (lambda t: t.replace(WHEEL, "../evil.whl"), "not a plain file name"),
        (lambda t: t.replace(WHEEL, "other-0.6.2-py3-none-any.whl"), "do not match its file name"),
        (lambda t: t.replace('"schema": 1', '"schema": 2'), "not a schema 1 record"),
        (lambda t: "[]", "not a schema 1 record"),
    ],
)
def test_a_bad_provenance_record_is_one_line_naming_it(edit, message: str) -> None:  # type: ignore[no-untyped-def]
    """A record with a bad digest, an escaping or foreign file name, another schema: InputError naming the record."""
    with pytest.raises(InputError, match=message) as exc:
        sdist.parse_provenance(edit(sdist.render_provenance(_rec())), "builds/docopt-0.6.2.provenance.json")
    assert str(exc.value).startswith("builds/docopt-0.6.2.provenance.json: ")


def test_the_install_lock_pins_the_built_wheel_in_place_of_the_sdist() -> None:
    """Only the built pin's hashes change, to its wheel's alone; every other pin and the header stay the lock's."""
    text = sdist.render_install_lock(MAIN, [_rec()])
    got = parse(text)
    assert got.by_key()["docopt"].hashes == (WHEEL_SHA,) and got.by_key()["numpy"] == NUMPY
    assert (got.input_digest, got.target, got.index_url) == (MAIN.input_digest, MAIN.target, MAIN.index_url)
    assert text.startswith("# Derived by inv sync from locks/p.txt")


# ------------------------------------------------------------------------ decisions


@pytest.mark.parametrize(
    ("pin", "inputs", "wheel_sha", "state"),
    [
        (None, INPUTS, WHEEL_SHA, sdist.STALE),
        (Pin("docopt", "0.6.1", (SDIST_SHA,)), INPUTS, WHEEL_SHA, sdist.STALE),
        (Pin("docopt", "0.6.2", ("f" * 64,)), INPUTS, WHEEL_SHA, sdist.STALE),
        (DOCOPT, replace(INPUTS, build_lock_sha256="0" * 64), WHEEL_SHA, sdist.STALE),
        (DOCOPT, replace(INPUTS, build_lock_sha256=None), WHEEL_SHA, sdist.STALE),
        (DOCOPT, replace(INPUTS, builder_id="sha256:" + "1" * 64), WHEEL_SHA, sdist.STALE),
        (DOCOPT, replace(INPUTS, builder_debs_sha256="9" * 64), WHEEL_SHA, sdist.STALE),
        (DOCOPT, replace(INPUTS, target="cp311 linux/arm64 glibc2.36"), WHEEL_SHA, sdist.STALE),
        (DOCOPT, INPUTS, WHEEL_SHA, sdist.CURRENT),
        (DOCOPT, INPUTS, None, sdist.REPRODUCE),
        (DOCOPT, INPUTS, "a" * 64, sdist.REPRODUCE),
    ],
    ids=["pin gone", "other version", "other sdist", "other build deps", "no build lock", "other base", "other debs", "other target",
         "current", "wheel missing", "wheel altered"],
)
def test_record_state_has_one_row_per_case(pin: Pin | None, inputs: sdist.BuildInputs, wheel_sha: str | None, state: str) -> None:
    """Every row of record_state's table: other inputs build afresh; the same inputs keep the wheel, or build it again to the same bytes."""
    assert sdist.record_state(_rec(), pin, inputs, wheel_sha) == state


def test_a_wheel_built_for_the_target_installs_there() -> None:
    """A linux_<arch> wheel built in the target's base counts as the target's; another Python or CPU does not."""
    assert sdist.installs_on("netifaces-0.11.0-cp311-cp311-linux_x86_64.whl", T311)
    assert sdist.installs_on(WHEEL, T311)
    assert not sdist.installs_on("netifaces-0.11.0-cp310-cp310-linux_x86_64.whl", T311)
    assert not sdist.installs_on("netifaces-0.11.0-cp311-cp311-linux_aarch64.whl", T311)


def _findings(records: dict[str, sdist.Provenance | str] | None = None, listed: dict[str, str] | None = None,
              inputs: sdist.BuildInputs = INPUTS, install: str | None | bool = True) -> list[tuple[str, str, str]]:  # fmt: skip
    rec = _rec()
    records = {rec.rel: rec} if records is None else records
    good = [r for r in records.values() if isinstance(r, sdist.Provenance)]
    listed = {f"wheels/{WHEEL}": WHEEL_SHA, "builds/docopt-0.6.2.tar.gz": SDIST_SHA} if listed is None else listed
    text = sdist.render_install_lock(MAIN, good) if install is True else (None if install is False else install)
    return sdist.provenance_findings(MAIN, records, listed, inputs, text, T311)  # type: ignore[arg-type]


def test_a_consistent_build_has_no_finding() -> None:
    """Record, sdist, wheel and install lock agree with the committed lock: nothing to report."""
    assert _findings() == [] and _findings(records={}, listed={}, install=False) == []


@pytest.mark.parametrize(
    ("kw", "code", "path", "says"),
    [
        ({"records": {"builds/docopt-0.6.2.provenance.json": "builds/docopt-0.6.2.provenance.json: malformed provenance record (x)"}, "install": False},
         "malformed", "builds/docopt-0.6.2.provenance.json", "malformed"),
        ({"records": {_rec().rel: _rec(sdist_sha256="f" * 64)}}, "provenance", _rec().rel, "which locks/p.txt does not pin"),
        ({"listed": {f"wheels/{WHEEL}": WHEEL_SHA}}, "provenance", "builds/docopt-0.6.2.tar.gz", "is absent"),
        ({"listed": {"builds/docopt-0.6.2.tar.gz": SDIST_SHA}}, "missing", f"wheels/{WHEEL}", "not in the store"),
        ({"listed": {f"wheels/{WHEEL}": "a" * 64, "builds/docopt-0.6.2.tar.gz": SDIST_SHA}}, "provenance", f"wheels/{WHEEL}", "differs from what was recorded"),
        ({"inputs": replace(INPUTS, build_lock_sha256="0" * 64)}, "stale-build", _rec().rel, "other build dependencies"),
        ({"inputs": replace(INPUTS, builder_id="sha256:" + "1" * 64)}, "stale-build", _rec().rel, "another builder base"),
        ({"install": False}, "install-lock", "builds/install-lock.txt", "absent"),
        ({"install": "# edited\n"}, "install-lock", "builds/install-lock.txt", "is not locks/p.txt with the recorded wheels' sha256"),
        ({"records": {}, "listed": {}, "install": "x"}, "install-lock", "builds/install-lock.txt", "no wheel built"),
    ],
    ids=["unreadable", "sdist not pinned", "sdist absent", "wheel missing", "wheel differs", "other build deps", "other base",
         "install lock absent", "install lock edited", "install lock without builds"],
)
def test_each_provenance_finding_names_the_file_and_why(kw: dict[str, object], code: str, path: str, says: str) -> None:
    """Every row of provenance_findings' table: one finding with its code, the store path, and the reason."""
    got = _findings(**kw)  # type: ignore[arg-type]
    assert [(c, p) for c, p, _ in got] == [(code, path)], got
    assert says in got[0][2]


# ----------------------------------------------------------------- a failed build's cause


@pytest.mark.parametrize(
    ("log", "cause"),
    [
        ("netifaces.c:1:10: fatal error: Python.h: No such file or directory\n", "missing header Python.h: add python3.11-dev to the preset's apt.build"),
        ("x.c:3:10: fatal error: openssl/ssl.h: No such file or directory\n", "missing header openssl/ssl.h: add the -dev package"),
        ("error: command 'x86_64-linux-gnu-gcc' failed: No such file or directory\n", "missing tool x86_64-linux-gnu-gcc"),
        ("sh: 1: cmake: not found\n", "missing tool cmake"),
        ("ModuleNotFoundError: No module named 'Cython'\n", "the build imports Cython, which the build-deps lock does not hold"),
        ("THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.\n", "a build dependency does not match"),
        ("error: something else\n", None),
    ],
)
def test_a_failed_build_says_what_was_missing(log: str, cause: str | None) -> None:
    """The log's missing header, tool or module is named with what to add; an unknown failure gives None (the tail is shown anyway)."""
    got = sdist.diagnose("compiling...\n" + log, "3.11")
    assert got == cause if cause is None else (got is not None and got.startswith(cause))


def test_the_log_tail_is_one_line_of_the_last_lines() -> None:
    """The last non-empty lines, joined by ' | ', long ones cut."""
    assert sdist.log_tail("a\n\nb\nc\n" + "x" * 300 + "\n", 3) == "b | c | " + "x" * 199 + "…"


# --------------------------------------------------------- verify's coverage, inv lock --check


def test_a_built_wheel_covers_its_pin_only_when_a_record_vouches_for_it() -> None:
    """The built wheel's sha256 is not one of the pin's (the sdist's is): it covers the pin through its record, else it is foreign."""
    from airlock.verify import coverage

    lock = replace(MAIN, pins=(DOCOPT,))
    wheels = {f"wheels/{WHEEL}": WHEEL_SHA}
    assert coverage(lock, T311, wheels, sdist.built_wheel_hashes(lock, {_rec().rel: _rec()})) == []
    assert [f.code for f in coverage(lock, T311, wheels)] == ["foreign", "uncovered"]
    assert [f.code for f in coverage(lock, T311, wheels, sdist.built_wheel_hashes(lock, {_rec().rel: _rec(sdist_sha256="f" * 64)}))] == ["foreign", "uncovered"]


def test_lock_check_names_a_build_lock_edited_by_hand(project_copy: Path) -> None:
    """inv lock --check: a build-deps lock that fits its lock is fresh; one hash changed by hand is named, exit 1, with the fix."""
    from airlock.errors import IntegrityError
    from airlock.lock import check_plan, gather, plan_lock
    from airlock.lockfile import read
    from airlock.project import Project
    from tests.conftest import DEMO

    proj = Project(project_copy)
    main = read(proj.lock_path(DEMO))
    pin = main.pins[0]
    entry = sdist.SdistEntry(pin.name, pin.version, pin.hashes[0], ("setuptools>=40.8.0",))
    bl = sdist.make_build_lock(DEMO, main.engine, main.target, main.index_url, (entry,), (SETUPTOOLS,))
    path = sdist.build_lock_path(proj.locks_dir, DEMO)
    path.write_text(sdist.render_build_lock(bl))
    check_plan(proj, plan_lock(gather(proj, [DEMO])))
    path.write_text(path.read_text().replace("5" * 64, "5" * 63 + "0"))
    with pytest.raises(IntegrityError) as exc:
        check_plan(proj, plan_lock(gather(proj, [DEMO])))
    assert f"locks/{DEMO}.build.txt: its pins or hashes were changed after inv lock wrote them" in str(exc.value)
