"""inv lock: digests, the plan, apply with a real subprocess engine, and the task through inv."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from airlock import syslock
from airlock.errors import ExitCode, InputError, IntegrityError
from airlock.lock import (
    INVALID,
    MISSING,
    Decision,
    Engine,
    Host,
    LockFailed,
    LockInputs,
    LockItem,
    Reason,
    apply_lock,
    check_plan,
    decide,
    gather,
    input_digest,
    lock_inputs,
    pip_tools_mismatch,
    plan_lock,
)
from airlock.lockfile import Lockfile, Pin, parse, render
from airlock.presets import load_preset
from airlock.project import Project
from airlock.target import Target
from tests.conftest import DEMO, REPO
from tests.conftest import inv as _inv

CU118 = "ubuntu22.04-cuda11.8-torch2.1"
CU121 = "ubuntu22.04-cuda12.1-torch2.3"
CU115 = "ubuntu22.04-cuda11.5-torch2.0"
H = "e" * 64


def inv(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The real inv in a project copy (which holds no airlock/: import it from the repo)."""
    return _inv(cwd, *args, env={"PYTHONPATH": str(REPO)}, timeout=600)


def one_line_error(proc: subprocess.CompletedProcess[str]) -> str:
    """The task's stderr is exactly one ``airlock: error:`` line, and no traceback."""
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("airlock: error: ")
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())} if folder.exists() else {}


def fresh_lock(project: Project, name: str, pins: tuple[Pin, ...] = (Pin("numpy", "1.26.4", (H,)),)) -> Path:
    """Write a lock whose digest matches the preset (what a successful inv lock leaves)."""
    inputs = lock_inputs(project, load_preset(project, name))
    lock = Lockfile(name, "uv 0.0.0", inputs.target, inputs.digest, inputs.index_url, inputs.extra_index_urls, pins)
    path = project.lock_path(name)
    path.parent.mkdir(exist_ok=True)
    path.write_text(render(lock))
    return path


# ------------------------------------------------------------------ digest


BASE = LockInputs(DEMO, "3.11", "cp311 linux/amd64 glibc2.36", "linux/amd64", ("numpy<2", "pillow"), "https://pypi.org/simple", ())
CHANGES = {
    "preset": "other-preset",
    "python": "3.10",
    "target": "cp311 linux/amd64 glibc2.35",
    "platform": "linux/arm64",
    "requirements": ("numpy<2", "pillow", "fastapi"),
    "index_url": "https://example.org/simple",
    "extra_index_urls": ("https://download.pytorch.org/whl/cu118",),
}


def test_digest_covers_every_input_field() -> None:
    """Each field of LockInputs is one of the changes tested below (none forgotten)."""
    assert set(CHANGES) == {f.name for f in dataclasses.fields(LockInputs)}


@pytest.mark.parametrize("field", sorted(CHANGES))
def test_digest_changes_when_any_input_changes(field: str) -> None:
    """Changing any single input changes the digest."""
    assert dataclasses.replace(BASE, **{field: CHANGES[field]}).digest != BASE.digest


def test_digest_is_stable_for_equal_inputs() -> None:
    """Equal inputs give the same digest; it is sha256 of canonical JSON with no engine in it."""
    again = LockInputs(**{f.name: getattr(BASE, f.name) for f in dataclasses.fields(LockInputs)})
    assert again.digest == BASE.digest
    doc = json.loads(BASE.canonical())
    assert BASE.canonical() == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert "engine" not in doc and BASE.digest.startswith("sha256:")


def test_digest_ignores_comments_and_blank_lines_of_the_in_file(project_copy: Path) -> None:
    """Editing only comments or blank lines of the .in file leaves the digest alone; a requirement change does not."""
    proj = Project.here(project_copy)
    before = input_digest(proj, load_preset(proj, DEMO))
    req = project_copy / "presets" / f"{DEMO}.in"
    req.write_text("# a new comment\n\n" + req.read_text().replace("pillow", "pillow   # inline note") + "\n\n")
    assert input_digest(proj, load_preset(proj, DEMO)) == before
    req.write_text(req.read_text().replace("numpy<2", "numpy<2,>=1.25"))
    assert input_digest(proj, load_preset(proj, DEMO)) != before


def test_torch_index_is_an_extra_index_only_when_not_pypi() -> None:
    """cu118's torch index is the extra index; a preset whose torch comes from PyPI has none."""
    proj = Project.here(REPO)
    cu118 = lock_inputs(proj, load_preset(proj, CU118))
    cu121 = lock_inputs(proj, load_preset(proj, CU121))
    assert (cu118.index_url, cu118.extra_index_urls) == ("https://pypi.org/simple", ("https://download.pytorch.org/whl/cu118",))
    assert (cu121.index_url, cu121.extra_index_urls) == ("https://pypi.org/simple", ())
    assert cu118.requirements[:3] == ("torch==2.1.2+cu118", "torchvision==0.16.2+cu118", "torchaudio==2.1.2+cu118")
    assert cu118.python == "3.10" and cu118.target == "cp310 linux/amd64 glibc2.35"


def _bootstrapped(name: str) -> bool:
    preset = load_preset(Project.here(REPO), name)
    return all(getattr(preset.base, s).bootstrap is not None for s in ("builder", "runtime"))


PRESET_NAMES = [p.stem for p in sorted((REPO / "presets").glob("*.json"))]


@pytest.mark.parametrize("name", [n for n in PRESET_NAMES if _bootstrapped(n) or (REPO / "locks" / f"{n}.system.json").exists()])
def test_committed_system_locks_are_fresh(name: str) -> None:
    """Every preset whose bases are bootstrapped, and any other with a system lock, has a committed, readable
    system lock with its preset's digest, in the bytes inv lock writes."""
    proj = Project.here(REPO)
    preset = load_preset(proj, name)
    path = syslock.lock_path(proj.locks_dir, name)
    assert syslock.problem(path, path.name, preset) is None
    lock = syslock.read(path)
    assert lock is not None and all(lock.stage(s).debs for s in ("builder",))
    assert path.read_text() == syslock.render(lock)  # the committed bytes are what inv lock writes


def test_presets_without_a_system_lock_are_only_those_on_unreachable_registry_images() -> None:
    """The presets on nvidia/cuda images (no registry here serves them) are the only ones without a committed
    system lock, and lock --check names each of them as missing rather than passing it."""
    proj = Project.here(REPO)
    missing = [n for n in PRESET_NAMES if not syslock.lock_path(proj.locks_dir, n).exists()]
    assert missing and all(not _bootstrapped(n) for n in missing)
    for name in missing:
        preset = load_preset(proj, name)
        assert preset.base.builder.image is not None and preset.base.builder.image.startswith("nvidia/cuda:")
        path = syslock.lock_path(proj.locks_dir, name)
        assert syslock.problem(path, path.name, preset) is not None


@pytest.mark.parametrize("path", sorted((REPO / "locks").glob("*.txt")), ids=lambda p: p.stem)
def test_committed_locks_are_fresh(path: Path) -> None:
    """Every committed lock records the digest its preset has now (else: inv lock)."""
    proj = Project.here(REPO)
    assert parse(path.read_text(), str(path)).input_digest == input_digest(proj, load_preset(proj, path.stem))


# ------------------------------------------------------------------ decide / plan

W, OTHER = "sha256:" + "1" * 64, "sha256:" + "2" * 64


@pytest.mark.parametrize(
    ("existing", "upgrade", "expected"),
    [
        (MISSING, False, Decision(True, Reason.MISSING, False)),
        (MISSING, True, Decision(True, Reason.MISSING, False)),
        (INVALID, False, Decision(True, Reason.INVALID, False)),
        (INVALID, True, Decision(True, Reason.INVALID, False)),
        (W, False, Decision(False, Reason.FRESH, False)),
        (W, True, Decision(True, Reason.UPGRADE, False)),
        (OTHER, False, Decision(True, Reason.STALE, True)),
        (OTHER, True, Decision(True, Reason.UPGRADE, False)),
    ],
)
def test_decide_table(existing: str | None, upgrade: bool, expected: Decision) -> None:
    """decide() follows its docstring table for every lock state and --upgrade."""
    assert decide(existing, W, upgrade) == expected


def _item(existing: str | None, python: str = "3.11", glibc: tuple[int, int] = (2, 36)) -> LockItem:
    inputs = dataclasses.replace(BASE, python=python)
    return LockItem(inputs, Target(python, "x86_64", glibc), inputs.digest if existing == "fresh" else existing)


HOST = Host("cpython", "3.11", "x86_64", (2, 36))


def test_plan_lists_each_preset_with_its_decision() -> None:
    """plan_lock returns one step per preset in order, and todo holds those to lock."""
    plan = plan_lock([_item("fresh"), _item(MISSING), _item(OTHER)], engine="uv", host=HOST)
    assert [s.decision.reason for s in plan.steps] == [Reason.FRESH, Reason.MISSING, Reason.STALE]
    assert [s.decision.reason for s in plan.todo] == [Reason.MISSING, Reason.STALE]


def test_plan_refuses_an_unknown_engine() -> None:
    """--engine must be uv or pip-tools."""
    with pytest.raises(InputError, match=r"--engine 'poetry': not one of uv, pip-tools"):
        plan_lock([_item(MISSING)], engine="poetry", host=HOST)


def test_plan_refuses_pip_tools_for_another_python() -> None:
    """pip-tools for a cp310 target on a 3.11 host is an InputError that says why and suggests uv."""
    with pytest.raises(InputError, match=r"needs Python 3\.10 \(this is 3\.11\).*use --engine uv") as exc:
        plan_lock([_item(MISSING, python="3.10")], engine="pip-tools", host=HOST)
    assert exc.value.exit_code == ExitCode.BAD_INPUT


def test_plan_allows_pip_tools_where_it_has_nothing_to_resolve_or_matches() -> None:
    """A fresh lock needs no engine; a target equal to the host may use pip-tools."""
    plan = plan_lock([_item("fresh", python="3.10"), _item(MISSING)], engine="pip-tools", host=HOST)
    assert [s.decision.lock for s in plan.steps] == [False, True]


@pytest.mark.parametrize(
    ("host", "why"),
    [
        (HOST, None),
        (Host("cpython", "3.12", "x86_64", (2, 36)), "needs Python 3.11 (this is 3.12)"),
        (Host("cpython", "3.11", "aarch64", (2, 36)), "needs x86_64 (this is aarch64)"),
        (Host("cpython", "3.11", "x86_64", (2, 35)), "needs glibc 2.36 (this is 2.35)"),
        (Host("cpython", "3.11", "x86_64", None), "needs glibc 2.36 (this is none)"),
        (Host("pypy", "3.11", "x86_64", (2, 36)), "needs CPython (this is pypy)"),
    ],
)
def test_pip_tools_mismatch_names_each_difference(host: Host, why: str | None) -> None:
    """Python version, implementation, CPU and glibc must all be the target's."""
    assert pip_tools_mismatch(Target("3.11", "x86_64", (2, 36)), host) == why


def test_check_names_every_out_of_date_lock_with_its_fix(project_copy: Path) -> None:
    """--check's error lists missing, unreadable and stale locks, each with its inv lock command."""
    proj = Project.here(project_copy)
    for p in (project_copy / "locks").glob("*.txt"):
        p.unlink()
    fresh_lock(proj, DEMO)
    (project_copy / "locks" / f"{CU121}.txt").write_text("not a lock\n")
    plan = plan_lock(gather(proj, []), host=HOST)
    with pytest.raises(IntegrityError) as exc:
        check_plan(proj, plan)
    msg = str(exc.value)
    assert msg.startswith("3 of 4 locks out of date: ")
    assert f"locks/{CU115}.txt is missing; run: inv lock --preset {CU115}" in msg
    assert f"locks/{CU118}.txt is missing; run: inv lock --preset {CU118}" in msg
    assert f"locks/{CU121}.txt cannot be read (" in msg and f"run: inv lock --preset {CU121}" in msg
    assert DEMO not in msg and "\n" not in msg


# ------------------------------------------------------------------ apply (a real subprocess engine)

_FAKE = r"""
import os, sys
out, req = sys.argv[1], sys.argv[2]
leaked = sorted(k for k in os.environ if k.startswith(("PIP_", "UV_")))
if leaked:
    sys.exit("error: leaked " + " ".join(leaked))
names = [l.split("<")[0].split("=")[0].strip() for l in open(req) if l.strip()]
if "fail" in names:
    print("resolving...", flush=True)
    sys.stderr.write("error: No solution found when resolving dependencies\n  cause: fail>=99 is not available\n")
    sys.exit(1)
kept = {}
if os.path.exists(out):
    for line in open(out):
        if "==" in line:
            n, v = line.split("==")
            kept[n.strip()] = v.split()[0]
with open(out, "w") as fh:
    for n in sorted(names):
        fh.write(f"{n}=={kept.get(n, '2.0')} \\\n    --hash=sha256:{'f' * 64}\n    # via -r requirements.in\n")
"""


class FakeEngine(Engine):
    """An engine that is a real subprocess: python -c, reading requirements.in, writing -o."""

    name = "fake"

    def version(self) -> str:
        return "fake 1.0"

    def argv(self, inputs, target, *, out, upgrade, cache_dir):  # type: ignore[no-untyped-def]
        return [sys.executable, "-c", _FAKE, out, "requirements.in"]


def _proj_with(tmp_path: Path, presets: dict[str, list[str]]) -> Project:
    """A project whose presets are copies of the demo with the given requirement lists."""
    (tmp_path / "presets").mkdir()
    base = json.loads((REPO / "presets" / f"{DEMO}.json").read_text())
    for name, reqs in presets.items():
        data = {**base, "name": name, "requirements": {"packages": reqs, "file": None}}
        (tmp_path / "presets" / f"{name}.json").write_text(json.dumps(data))
    return Project.here(tmp_path)


def test_apply_writes_each_lock_from_the_engine_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """apply renders the engine's pins under airlock's header, fresh by digest; PIP_/UV_ never reach the engine."""
    monkeypatch.setenv("PIP_FIND_LINKS", "/opt/wheels")
    monkeypatch.setenv("UV_INDEX_URL", "https://example.invalid/simple")
    proj = _proj_with(tmp_path, {"one": ["alpha", "beta<3"]})
    seen = []
    results = apply_lock(proj, plan_lock(gather(proj, []), host=HOST), engine=FakeEngine(), report=seen.append)
    assert seen == results and [(r.name, r.written, r.pins, r.hashes, r.reason) for r in results] == [("one", True, 2, 2, Reason.MISSING)]
    lock = parse(proj.lock_path("one").read_text())
    assert lock.engine == "fake 1.0" and lock.input_digest == input_digest(proj, load_preset(proj, "one"))
    assert [(p.name, p.version, p.via) for p in lock.pins] == [("alpha", "2.0", ("preset one",)), ("beta", "2.0", ("preset one",))]
    assert [r.reason for r in apply_lock(proj, plan_lock(gather(proj, []), host=HOST), engine=FakeEngine())] == [Reason.FRESH]


def test_a_stale_lock_keeps_its_pins_unless_upgrading(tmp_path: Path) -> None:
    """A stale lock is handed to the engine as its output file (pins kept); --upgrade starts clean."""
    proj = _proj_with(tmp_path, {"one": ["alpha"]})
    inputs = lock_inputs(proj, load_preset(proj, "one"))
    old = Lockfile("one", "fake 0.9", inputs.target, "sha256:" + "0" * 64, inputs.index_url, (), (Pin("alpha", "1.5", (H,)),))
    proj.lock_path("one").parent.mkdir()
    proj.lock_path("one").write_text(render(old))
    apply_lock(proj, plan_lock(gather(proj, []), host=HOST), engine=FakeEngine())
    assert parse(proj.lock_path("one").read_text()).pins[0].version == "1.5"
    apply_lock(proj, plan_lock(gather(proj, []), upgrade=True, host=HOST), engine=FakeEngine())
    assert parse(proj.lock_path("one").read_text()).pins[0].version == "2.0"


def test_one_failing_preset_does_not_stop_the_others(tmp_path: Path) -> None:
    """The failing preset's lock is untouched, the others are written, and LockFailed (exit 3) names it in one line."""
    proj = _proj_with(tmp_path, {"a-ok": ["alpha"], "b-bad": ["fail"], "c-ok": ["gamma"]})
    proj.locks_dir.mkdir()
    proj.lock_path("b-bad").write_text("old, unreadable lock\n")
    with pytest.raises(LockFailed) as exc:
        apply_lock(proj, plan_lock(gather(proj, []), host=HOST), engine=FakeEngine())
    assert exc.value.exit_code == ExitCode.EXTERNAL
    assert str(exc.value) == (
        "lock failed for 1 preset: b-bad (fake): No solution found when resolving dependencies: fail>=99 is not available; 2 other presets locked"
    )
    assert proj.lock_path("b-bad").read_text() == "old, unreadable lock\n"
    assert sorted(p.name for p in proj.locks_dir.iterdir()) == ["a-ok.txt", "b-bad.txt", "c-ok.txt"]


# ------------------------------------------------------------------ the task, through the real inv


def test_check_passes_on_fresh_locks(project_copy: Path) -> None:
    """inv lock --check exits 0 and writes nothing when the selected lock is fresh."""
    fresh_lock(Project.here(project_copy), DEMO)
    before = snapshot(project_copy / "locks")
    proc = inv(project_copy, "lock", "--check", "--preset", DEMO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"{DEMO}: fresh\n" and proc.stderr == ""
    assert snapshot(project_copy / "locks") == before


def test_check_fails_after_the_requirements_change_and_writes_nothing(project_copy: Path) -> None:
    """Editing the preset's .in file makes --check exit 1 naming the stale lock and the fix; nothing is written."""
    fresh_lock(Project.here(project_copy), DEMO)
    req = project_copy / "presets" / f"{DEMO}.in"
    req.write_text(req.read_text() + "requests\n")
    before = snapshot(project_copy / "locks")
    proc = inv(project_copy, "lock", "--check", "--preset", DEMO)
    assert proc.returncode == ExitCode.INTEGRITY
    assert one_line_error(proc) == (
        f"airlock: error: 1 of 2 locks out of date: locks/{DEMO}.txt is stale (its preset's inputs changed); run: inv lock --preset {DEMO}"
    )
    assert snapshot(project_copy / "locks") == before


def test_check_fails_for_a_missing_lock(project_copy: Path) -> None:
    """A missing lock makes --check exit 1 and creates nothing."""
    lock = project_copy / "locks" / f"{DEMO}.txt"
    lock.unlink(missing_ok=True)
    proc = inv(project_copy, "lock", "--check", "--preset", DEMO)
    assert proc.returncode == ExitCode.INTEGRITY
    assert f"locks/{DEMO}.txt is missing; run: inv lock --preset {DEMO}" in one_line_error(proc)
    assert not lock.exists()


def test_check_without_preset_covers_every_preset(project_copy: Path) -> None:
    """With no --preset, --check judges every preset: all fresh exits 0, one missing exits 1 naming only it."""
    proj = Project.here(project_copy)
    for name in (DEMO, CU118, CU121):
        fresh_lock(proj, name)
    assert inv(project_copy, "lock", "--check", "--only", "python").returncode == 0
    proj.lock_path(CU118).unlink()
    proc = inv(project_copy, "lock", "--check", "--only", "python")
    line = one_line_error(proc)
    assert proc.returncode == ExitCode.INTEGRITY and line.count("run: inv lock") == 1 and CU118 in line


def test_check_names_each_missing_or_stale_system_lock(project_copy: Path) -> None:
    """--check covers locks/<preset>.system.json offline: the presets on registry images have none (their base cannot
    be pulled here), and an edited apt list makes the demo's stale; each named with its inv lock --only system."""
    proc = inv(project_copy, "lock", "--check", "--only", "system")
    line = one_line_error(proc)
    assert proc.returncode == ExitCode.INTEGRITY and line.startswith("airlock: error: 2 of 4 locks out of date: ")
    for name in (CU118, CU121):
        assert f"locks/{name}.system.json is missing; run: inv lock --preset {name} --only system" in line
    assert DEMO not in line and CU115 not in line
    path = project_copy / "presets" / f"{DEMO}.json"
    data = json.loads(path.read_text())
    data["apt"]["runtime"].append("tzdata")
    path.write_text(json.dumps(data))
    before = snapshot(project_copy / "locks")
    proc = inv(project_copy, "lock", "--check", "--preset", DEMO)
    assert proc.returncode == ExitCode.INTEGRITY
    assert one_line_error(proc) == (
        f"airlock: error: 1 of 2 locks out of date: locks/{DEMO}.system.json is stale (its preset's bases, apt packages or platform "
        f"changed); run: inv lock --preset {DEMO} --only system"
    )
    assert snapshot(project_copy / "locks") == before


def test_pip_tools_for_a_cp310_preset_is_refused_before_anything_runs(project_copy: Path) -> None:
    """--engine pip-tools for the cp310 cuda11.8 preset exits 2 with the reason and writes nothing."""
    before = snapshot(project_copy / "locks")
    proc = inv(project_copy, "lock", "--engine", "pip-tools", "--preset", CU118)
    assert proc.returncode == ExitCode.BAD_INPUT
    line = one_line_error(proc)
    assert f"{CU118}: pip-tools resolves only for the Python running it" in line
    assert "needs Python 3.10 (this is 3.11)" in line and line.endswith("use --engine uv, which resolves for any target")
    assert snapshot(project_copy / "locks") == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--check", "--upgrade"), "--check and --upgrade together"),
        (("--engine", "poetry"), "--engine 'poetry': not one of uv, pip-tools"),
        (("--preset", "no-such-preset"), "no-such-preset.json: no such preset (known: "),
        (("--preset", "../etc"), "--preset '../etc': not a valid preset name"),
    ],
)
def test_bad_flags_exit_2_with_one_line(project_copy: Path, args: tuple[str, ...], message: str) -> None:
    """Contradictory flags, an unknown engine or preset, a bad name: exit 2, one line, nothing written."""
    before = snapshot(project_copy / "locks")
    proc = inv(project_copy, "lock", *args)
    assert proc.returncode == ExitCode.BAD_INPUT
    assert message in one_line_error(proc)
    assert snapshot(project_copy / "locks") == before
