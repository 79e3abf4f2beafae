"""Prebuilt parts without an engine: the key and what moves it, the take-or-compile table, staleness, names, the plan."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from airlock import build as b
from airlock import prebuilt, syslock
from airlock.presets import load_preset, load_preset_file
from airlock.project import Project
from airlock.store import layout, manifest
from tests.conftest import REPO

DEMO_PRESET = "debian12-cpu-py3.11"


def _lock(**builder: Any) -> syslock.SystemLock:
    """The demo's committed system lock, its builder stage changed by ``builder`` (base=..., debs=...)."""
    lock = syslock.read(REPO / "locks" / f"{DEMO_PRESET}.system.json")
    assert lock is not None
    stage = lock.stage("builder").model_copy(update=builder)
    return lock.model_copy(update={"stages": {**lock.stages, "builder": stage}})


def _inputs(part: str = "ffmpeg", **kw: Any) -> prebuilt.PartInputs:
    args: dict[str, Any] = {
        "sources": {"ffmpeg_5.1.9.orig.tar.xz": "a" * 64},
        "config": {"archive.txt": b"/airlock/sources/ffmpeg_5.1.9.orig.tar.xz\n", "flags.txt": b"--enable-shared\n--disable-static\n"},
        "script": b"#!/bin/sh\nmake\n",
        "python": "3.11",
        "system_lock": _lock(),
    }
    args.update(kw)
    return prebuilt.part_inputs(part, **args)


# ------------------------------------------------------------------ the key


def test_the_key_is_the_sha256_of_the_canonical_json_of_the_inputs() -> None:
    """key = sha256(JSON with sorted keys, no whitespace); the written record parses back to the same key."""
    import hashlib

    pi = _inputs()
    assert pi.key == hashlib.sha256(json.dumps(pi.inputs, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    assert prebuilt.part_key(json.loads(prebuilt.render_inputs(pi.inputs))) == pi.key
    assert _inputs().key == pi.key  # the same inputs, the same key


def _deb_moved(lock: syslock.SystemLock) -> tuple[syslock.DebPin, ...]:
    debs = list(lock.stage("builder").debs)
    debs[0] = debs[0].model_copy(update={"sha256": "f" * 64})
    return tuple(debs)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"sources": {"ffmpeg_5.1.9.orig.tar.xz": "b" * 64}}, "sources"),
        ({"config": {"archive.txt": b"/airlock/sources/ffmpeg_5.1.9.orig.tar.xz\n", "flags.txt": b"--enable-shared\n"}}, "config: flags.txt"),
        ({"script": b"#!/bin/sh\nmake -j1\n"}, "its build script"),
        ({"python": "3.12"}, "python"),
        ({"system_lock": _lock(base=_lock().stage("builder").base.model_copy(update={"suite": "trixie"}))}, "builder base"),
        ({"system_lock": _lock(debs=_deb_moved(_lock()))}, "builder .debs: "),
        ({"depends": {"ffmpeg": "c" * 64}}, "the parts it links"),
        ({"numpy": ("d" * 64,)}, "numpy"),
    ],
)
def test_every_input_moves_the_key_and_a_miss_names_it(change: dict[str, Any], named: str) -> None:
    """Each input (sources, flags, script, Python, builder base, builder .debs, linked part's key, numpy) moves the key; changed() names it."""
    old, new = _inputs(), _inputs(**change)
    assert old.key != new.key
    what = prebuilt.changed(old.inputs, new.inputs)
    assert len(what) == 1 and what[0].startswith(named), what


def test_the_demo_key_follows_the_flags_build_py_writes(tmp_path: Path) -> None:
    """expected_parts on the real demo preset: FFmpeg's config is build.py's config/ffmpeg/; one more flag, another key."""
    project = Project(REPO)
    preset = load_preset(project, DEMO_PRESET)
    expected, unkeyed = prebuilt.expected_parts(project, preset)
    assert unkeyed == "" and set(expected) == {"ffmpeg"}
    config = b._config_files(project, preset)
    assert expected["ffmpeg"].inputs["config"]["flags.txt"] == config["config/ffmpeg/flags.txt"].decode()
    assert expected["ffmpeg"].inputs["script"] == prebuilt.sha256_bytes((REPO / "docker" / "build-ffmpeg").read_bytes())
    assert expected["ffmpeg"].inputs["sources"] == {preset.ffmpeg.filename: preset.ffmpeg.sha256}  # type: ignore[union-attr]
    flagged = preset.model_copy(update={"ffmpeg": preset.ffmpeg.model_copy(update={"configure_flags": (*preset.ffmpeg.configure_flags, "--enable-decoder=png")})})  # type: ignore[union-attr]
    again, _ = prebuilt.expected_parts(project, flagged)
    assert again["ffmpeg"].key != expected["ffmpeg"].key
    assert prebuilt.changed(expected["ffmpeg"].inputs, again["ffmpeg"].inputs) == ["config: flags.txt"]


def test_opencv_key_carries_ffmpeg_key() -> None:
    """OpenCV links FFmpeg: its inputs name FFmpeg's key, so a new FFmpeg is a new OpenCV key."""
    ff1, ff2 = _inputs(), _inputs(python="3.12")
    cv1 = _inputs("opencv", depends={"ffmpeg": ff1.key})
    cv2 = _inputs("opencv", depends={"ffmpeg": ff2.key})
    assert cv1.inputs["depends"] == {"ffmpeg": ff1.key} and cv1.key != cv2.key


def test_a_preset_without_a_system_lock_has_no_key(tmp_path: Path) -> None:
    """No system lock (ubuntu22.04-cuda12.1-torch2.3 has none): every part unkeyed, saying why."""
    project = Project(REPO)
    preset = load_preset(project, "ubuntu22.04-cuda12.1-torch2.3")
    facts = prebuilt.gather_parts(project, preset, {})
    assert set(facts.expected) == {"ffmpeg", "opencv"} and facts.unkeyed.startswith("no key")


# ------------------------------------------------------------------ decide_parts: every row of its table


def _avail(pi: prebuilt.PartInputs, key: str | None = None, inputs: dict[str, Any] | None | str = "same") -> prebuilt.Available:
    k = key or pi.key
    rec = pi.inputs if inputs == "same" else inputs
    return prebuilt.Available(pi.part, k, layout.prebuilt_archive(pi.part, k), "e" * 64, rec)  # type: ignore[arg-type]


FF = _inputs()
CV = _inputs("opencv", depends={"ffmpeg": FF.key})
FF_OLD = _inputs(config={"archive.txt": b"x\n", "flags.txt": b"--old\n"})


@pytest.mark.parametrize(
    ("facts", "no_prebuilt", "mode", "why"),
    [
        (prebuilt.PartsFacts({}, ""), False, "compiled", ()),
        (prebuilt.PartsFacts({"ffmpeg": FF}, "", (_avail(FF),)), True, "compiled", ("--no-prebuilt",)),
        (prebuilt.PartsFacts({"ffmpeg": FF}, "no key without the system lock (x)", (_avail(FF),)), False, "compiled", ("no key without the system lock (x)",)),
        (prebuilt.PartsFacts({"ffmpeg": FF}, ""), False, "compiled", ()),
        (prebuilt.PartsFacts({"ffmpeg": FF, "opencv": CV}, "", (_avail(FF),)), False, "compiled", ("opencv: none in prebuilt/",)),
        (
            prebuilt.PartsFacts({"ffmpeg": FF}, "", (_avail(FF, key=FF_OLD.key, inputs=FF_OLD.inputs),)),
            False, "compiled", (f"ffmpeg: {layout.prebuilt_archive('ffmpeg', FF_OLD.key)} was made from other inputs (config: archive.txt, flags.txt)",),
        ),
        (prebuilt.PartsFacts({"ffmpeg": FF, "opencv": CV}, "", (_avail(CV), _avail(FF))), False, "prebuilt", ()),
    ],
    ids=["no-parts", "no-prebuilt-flag", "unkeyed", "none-stored", "one-part-missing", "key-miss", "all-match"],
)
def test_decide_parts_table(facts: prebuilt.PartsFacts, no_prebuilt: bool, mode: str, why: tuple[str, ...]) -> None:
    """Each row of decide_parts' table; a mixed case (one part matches, one does not) compiles every part."""
    d = prebuilt.decide_parts(facts, no_prebuilt)
    assert (d.mode, d.why) == (mode, why)
    if mode == "prebuilt":
        assert d.archives == (layout.prebuilt_archive("ffmpeg", FF.key), layout.prebuilt_archive("opencv", CV.key))  # PARTS order
        assert d.sha256 == {a: "e" * 64 for a in d.archives}
    else:
        assert d.archives == () and d.sha256 == {}


def test_stale_names_each_archive_that_no_longer_fits() -> None:
    """stale(): another key (saying what changed), a record that does not hash to its key, a part the preset dropped; a match is not stale."""
    tampered = dict(FF.inputs, python="9.9")
    facts = prebuilt.PartsFacts(
        {"ffmpeg": FF},
        "",
        (_avail(FF), _avail(FF_OLD, inputs=FF_OLD.inputs), _avail(FF, key="1" * 64, inputs=tampered), _avail(CV)),
    )
    got = dict(prebuilt.stale(facts))
    assert layout.prebuilt_archive("ffmpeg", FF.key) not in got
    assert "config: archive.txt, flags.txt" in got[layout.prebuilt_archive("ffmpeg", FF_OLD.key)]
    assert "does not hash to its key" in got[layout.prebuilt_archive("ffmpeg", "1" * 64)]
    assert got[layout.prebuilt_archive("opencv", CV.key)] == "the preset has no opencv now"


# ------------------------------------------------------------------ the store's names


def test_prebuilt_names_round_trip_and_are_store_paths() -> None:
    """prebuilt/<part>-<key>.tar and .inputs.json parse back; check_rel accepts them; other names are not prebuilt parts."""
    key = "0" * 64
    for rel, what in ((layout.prebuilt_archive("ffmpeg", key), "archive"), (layout.prebuilt_inputs("opencv", key), "inputs")):
        assert layout.check_rel(rel) is None
        assert layout.parse_prebuilt(rel) == (rel.split("/")[1].split("-")[0], key, what)
    for bad in ("prebuilt/ffmpeg.tar", f"prebuilt/ffmpeg-{key}.tar.zst", f"sources/ffmpeg-{key}.tar", f"prebuilt/x/ffmpeg-{key}.tar"):
        assert layout.parse_prebuilt(bad) is None
    assert layout.is_part(layout.part_of(Path(layout.prebuilt_archive("ffmpeg", key))).name)


def test_available_reads_the_records_the_index_lists(tmp_path: Path) -> None:
    """available(): only indexed archives; a record beside it is read, a missing or unlisted one is None."""
    (tmp_path / "prebuilt").mkdir()
    a1, a2 = layout.prebuilt_archive("ffmpeg", FF.key), layout.prebuilt_archive("opencv", CV.key)
    (tmp_path / layout.prebuilt_inputs("ffmpeg", FF.key)).write_text(prebuilt.render_inputs(FF.inputs))
    (tmp_path / layout.prebuilt_inputs("opencv", CV.key)).write_text(prebuilt.render_inputs(CV.inputs))
    listed = {a1: "1" * 64, layout.prebuilt_inputs("ffmpeg", FF.key): "2" * 64, a2: "3" * 64, "sources/x.tar.xz": "4" * 64}
    got = {a.archive: a for a in prebuilt.available(tmp_path, listed)}
    assert set(got) == {a1, a2}
    assert got[a1].inputs == FF.inputs and got[a1].sha256 == "1" * 64
    assert got[a2].inputs is None  # its record exists on disk but the index does not list it


# ------------------------------------------------------------------ plan_build with prebuilt parts


def _facts(**kw: Any) -> b.BuildFacts:
    preset = load_preset_file(REPO / "presets" / f"{DEMO_PRESET}.json")
    facts = b.BuildFacts(
        preset=preset, target="runtime", tag=f"airlock/{preset.name}:runtime", app_src=Path("/src/app"),
        deps_files={}, app_files={}, sizes={}, needed=(), store_sha={},
        base_refs={"builder": "base/builder:1", "runtime": "base/runtime:1"}, deps_hash="0123456789abcdef" * 4, deps_exist=True,
        lock_digest="sha256:" + "b" * 64, parts=prebuilt.PartsFacts({"ffmpeg": FF}, "", (_avail(FF),)),
    )
    return replace(facts, **kw)


@pytest.mark.parametrize(("no_prebuilt", "prebuilt_exist"), [(False, False), (False, True), (True, False)])
def test_plan_takes_prebuilt_parts_under_their_own_deps_hash(no_prebuilt: bool, prebuilt_exist: bool) -> None:
    """Parts prebuilt: deps hash = prebuilt_deps_hash(compiled hash, archives), reused when its tags exist; --no-prebuilt: the compiled hash."""
    plan = b.plan_build(_facts(prebuilt_exist=prebuilt_exist), no_prebuilt=no_prebuilt)
    if no_prebuilt:
        assert plan.parts.mode == "compiled" and plan.deps_hash == "0123456789abcdef" * 4 and plan.deps_action == "reuse"
        assert "parts       compiled (--no-prebuilt)" in plan.render()
    else:
        assert plan.parts.mode == "prebuilt"
        assert plan.deps_hash == b.prebuilt_deps_hash("0123456789abcdef" * 4, {layout.prebuilt_archive("ffmpeg", FF.key): "e" * 64})
        assert plan.deps_hash != "0123456789abcdef" * 4
        assert plan.deps_action == ("reuse" if prebuilt_exist else "build")
        assert plan.labels["io.airlock.parts"] == "prebuilt" and plan.labels["io.airlock.deps-hash"] == plan.deps_hash
        assert f"parts       prebuilt (ffmpeg-{FF.key[:12]}…)" in plan.render()


def test_plan_says_why_it_compiles() -> None:
    """A key miss: the plan compiles and its render names the part, the archive and the input that changed."""
    plan = b.plan_build(_facts(parts=prebuilt.PartsFacts({"ffmpeg": FF}, "", (_avail(FF_OLD),))))
    assert plan.parts.mode == "compiled" and plan.deps_hash == "0123456789abcdef" * 4
    assert "was made from other inputs (config: archive.txt, flags.txt)" in plan.render()



# ------------------------------------------------------------------ verify and sync on a real store


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from tests.test_verify import make_store

    return make_store(tmp_path_factory.mktemp("pristine") / "proj")


def test_verify_checks_a_prebuilt_part_like_any_file_and_warns_when_its_key_is_stale(pristine: Path, tmp_path: Path) -> None:
    """Current key: no finding, no warning; sync's index keeps its kind; a flag more: stale-prebuilt warning (naming flags.txt), not a finding; a flipped byte: sha256."""
    import shutil

    from airlock.presets import load_preset
    from airlock.sync import write_index
    from airlock.verify import verify_store
    from tests.test_verify import _copy

    proj, store = _copy(pristine, tmp_path)
    shutil.copytree(REPO / "docker", proj.root / "docker")
    preset = load_preset(proj, DEMO_PRESET)
    expected, unkeyed = prebuilt.expected_parts(proj, preset)
    assert unkeyed == ""
    ff = expected["ffmpeg"]
    rel = layout.prebuilt_archive("ffmpeg", ff.key)
    (store / "prebuilt").mkdir()
    (store / rel).write_bytes(b"ffmpeg/\0" * 512)
    (store / layout.prebuilt_inputs("ffmpeg", ff.key)).write_text(prebuilt.render_inputs(ff.inputs))
    prebuilt.index_prebuilt(store, {rel: ("prebuilt", "test", "5.1.9"), layout.prebuilt_inputs("ffmpeg", ff.key): ("prebuilt-inputs", "test", "5.1.9")})
    rep = verify_store(proj, DEMO_PRESET)
    assert (rep.findings, rep.warnings) == ([], [])

    # sync's index (what inv sync writes) keeps prebuilt/ as indexed, kind and origin included
    write_index(proj, preset, store, {}, {}, 1)
    assert {e.path: e.kind for e in manifest.read_manifest(store).entries if e.path.startswith("prebuilt/")} == {
        rel: "prebuilt", layout.prebuilt_inputs("ffmpeg", ff.key): "prebuilt-inputs"}

    data = json.loads(proj.preset_path(DEMO_PRESET).read_text())
    data["ffmpeg"]["configure_flags"].append("--enable-small")
    proj.preset_path(DEMO_PRESET).write_text(json.dumps(data, indent=2) + "\n")
    rep = verify_store(proj, DEMO_PRESET)
    assert rep.ok and [(w.code, w.path) for w in rep.warnings] == [("stale-prebuilt", rel)]
    assert "config: flags.txt" in rep.warnings[0].message and rep.as_dict()["warnings"][0]["code"] == "stale-prebuilt"

    raw = bytearray((store / rel).read_bytes())
    raw[100] ^= 1
    (store / rel).write_bytes(bytes(raw))
    assert [(f.code, f.path) for f in verify_store(proj, DEMO_PRESET).findings] == [("sha256", rel)]
