"""Pure parts of sync: what counts as unwanted, the docker-save id reader, the summary."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

from airlock.store import layout
from airlock.images import image_id_from_tar
from airlock.sync import PhaseResult, _unlisted, render_summary


def test_unlisted_files_are_removed_but_parts_are_kept_for_resume(tmp_path: Path) -> None:
    """Files the manifest does not vouch for are unwanted, except *.part (an interrupted download)."""
    (tmp_path / "wheels").mkdir()
    for name in ("a.whl", "b.whl", "c.whl.part"):
        (tmp_path / "wheels" / name).write_bytes(b"x")
    listing = layout.walk(tmp_path)
    assert _unlisted(listing, "wheels", {"wheels/a.whl": "0" * 64}) == ["wheels/b.whl"]
    assert _unlisted(listing, "sources", {}) == []


def test_image_id_is_read_from_a_docker_save_tarball(tmp_path: Path) -> None:
    """The id a saved image will have once loaded comes from its manifest.json, without loading it."""
    digest = "ab" * 32
    tar = tmp_path / "img.tar"
    with tarfile.open(tar, "w") as tf:
        data = json.dumps([{"Config": f"{digest}.json", "RepoTags": ["x:y"], "Layers": []}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    assert image_id_from_tar(tar) == f"sha256:{digest}"
    (tmp_path / "bad.tar").write_bytes(b"not a tar")
    assert image_id_from_tar(tmp_path / "bad.tar") is None


def test_summary_has_a_total_row_with_rate() -> None:
    """The closing table lists each phase and a total with files, bytes, reused, downloaded, rate, time."""
    text = render_summary({"wheels": PhaseResult(3, 3_000_000, 1, 2_000_000, 2.0), "sources": PhaseResult(1, 10, 1, 0, 0.0)}, 2.5)
    lines = text.splitlines()
    assert lines[0].split() == ["PHASE", "FILES", "BYTES", "REUSED", "DOWNLOADED", "RATE", "TIME"]
    assert lines[-1].split()[:2] == ["total", "4"] and "0.8 MB/s" in lines[-1]
    assert "1.0 MB/s" in lines[1]


# ------------------------------------------------------------------ plan_sync(facts): every row of its table, offline


from dataclasses import replace  # noqa: E402

import pytest  # noqa: E402

from airlock import images  # noqa: E402
from airlock.lockfile import Lockfile, Pin  # noqa: E402
from airlock.presets import load_preset_file  # noqa: E402
from airlock.sync import PHASES, SyncFacts, _deb_inputs, plan_sync  # noqa: E402
from airlock.target import Target  # noqa: E402
from airlock.wheels import WheelChoice  # noqa: E402
from tests.conftest import DEMO, REPO  # noqa: E402

PRESET = load_preset_file(REPO / "presets" / f"{DEMO}.json")
TARGET = Target.for_preset(PRESET)
NUMPY = Pin("numpy", "1.26.4", ("1" * 64, "2" * 64))
IDNA = Pin("idna", "3.20", ("3" * 64,))
LOCK = Lockfile(DEMO, "uv test", TARGET.label, "sha256:" + "0" * 64, "https://pypi.org/simple", (), (NUMPY, IDNA))
NUMPY_WHL = "wheels/numpy-1.26.4-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
NUMPY_OLD = "wheels/numpy-1.26.4-cp311-cp311-manylinux2014_x86_64.whl"
IDNA_WHL = "wheels/idna-3.20-py3-none-any.whl"
IMAGE = layout.image(images.base_image(PRESET, "builder").tar_name)
SOURCE = layout.source(PRESET.sources[0].filename)
BASE = "sha256:" + "ab" * 32


def _facts(**kw: object) -> SyncFacts:
    """A store that holds exactly what the preset and lock ask for, changed by ``kw``."""
    known = {NUMPY_WHL: "1" * 64, IDNA_WHL: "3" * 64, IMAGE: "9" * 64, SOURCE: PRESET.sources[0].sha256}
    for stage in images.STAGES:
        known |= {layout.deb_packages(stage): "8" * 64, layout.deb_inputs(stage): "7" * 64, f"debs/{stage}/python3.11_3.11.2-6_amd64.deb": "6" * 64}
    base = SyncFacts(
        preset=PRESET, lock=LOCK, target=TARGET, only=PHASES, known=known, unlisted={f: [] for f in layout.FOLDERS}, wheel_choices=[],
        deb_inputs={s: _deb_inputs(PRESET, s, BASE) for s in images.STAGES}, deb_complete={s: True for s in images.STAGES},
        base_ids={s: BASE for s in images.STAGES},
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def _without(rel: str) -> dict[str, str]:
    return {k: v for k, v in _facts().known.items() if k != rel}


def test_plan_of_a_complete_store_keeps_everything() -> None:
    """Every wanted file intact, every stage's set current: nothing fetched, nothing removed."""
    plan = plan_sync(_facts())
    assert plan.noop and sorted(k for ph in plan.phases.values() for k in ph.keep) == sorted(_facts().known)


@pytest.mark.parametrize(("rel", "phase", "todo"), [(SOURCE, "sources", "sources_todo"), (IMAGE, "images", "images_todo")])
def test_a_missing_file_is_fetched_only_when_its_phase_runs(rel: str, phase: str, todo: str) -> None:
    """A wanted source or base image that is missing: fetched with its phase in --only, left alone without it."""
    plan = plan_sync(_facts(known=_without(rel)))
    assert plan.phases[phase].fetch and getattr(plan, todo) and not plan.phases[phase].remove
    plan = plan_sync(_facts(known=_without(rel), only=tuple(p for p in PHASES if p != phase)))
    assert plan.phases[phase].fetch == [] and getattr(plan, todo) == [] and plan.noop


def test_a_source_whose_bytes_are_not_the_pin_is_fetched_again() -> None:
    """The archive under the preset's name with another sha256 is fetched (download() replaces it atomically)."""
    plan = plan_sync(_facts(known={**_facts().known, SOURCE: "f" * 64}))
    assert plan.sources_todo == [PRESET.sources[0].filename] and SOURCE not in plan.phases["sources"].keep


def test_files_no_longer_wanted_and_unlisted_files_are_removed_in_every_folder() -> None:
    """An old archive, an old image, a deb outside the stages and any unlisted file or stray: each removed by its phase."""
    known = {**_facts().known, "sources/ffmpeg_5.1.8.orig.tar.xz": "a" * 64, "images/old.tar": "b" * 64, "debs/other/x.deb": "c" * 64}
    unlisted = {"wheels": ["wheels/stray.whl"], "sources": ["sources"], "images": ["images/x.tar"], "debs": ["debs/runtime/evil.deb"]}
    plan = plan_sync(_facts(known=known, unlisted=unlisted))
    assert plan.phases["sources"].remove == ["sources/ffmpeg_5.1.8.orig.tar.xz", "sources"]
    assert plan.phases["images"].remove == ["images/old.tar", "images/x.tar"]
    assert plan.phases["debs"].remove == ["debs/other/x.deb", "debs/runtime/evil.deb"]
    assert plan.phases["wheels"].remove == ["wheels/stray.whl"]


def test_wheels_keep_the_best_present_wheel_per_pin_and_fetch_the_chosen() -> None:
    """Two present wheels of one pin: the better-ranked stays, the other goes; a wheel of no pin goes; index choices are fetched."""
    known = {**_without(IDNA_WHL), NUMPY_OLD: "2" * 64, "wheels/six-1.0-py3-none-any.whl": "5" * 64}
    choice = WheelChoice(IDNA, IDNA_WHL.split("/")[1], "https://files/idna.whl", "3" * 64, 100)
    plan = plan_sync(_facts(known=known, wheel_choices=[choice]))
    assert plan.phases["wheels"].keep == [NUMPY_WHL]
    assert sorted(plan.phases["wheels"].remove) == sorted([NUMPY_OLD, "wheels/six-1.0-py3-none-any.whl"])
    assert plan.phases["wheels"].fetch == [IDNA_WHL] and plan.wheel_choices == [choice]


@pytest.mark.parametrize(
    "change",
    [
        {"deb_inputs": {"builder": _deb_inputs(PRESET, "builder", BASE), "runtime": _deb_inputs(PRESET.model_copy(update={"platform": "linux/arm64"}), "runtime", BASE)}},
        {"base_ids": {"builder": BASE, "runtime": "sha256:" + "cd" * 32}},
        {"deb_complete": {"builder": True, "runtime": False}},
        {"deb_inputs": {"builder": _deb_inputs(PRESET, "builder", BASE), "runtime": None}},
    ],
    ids=["other platform", "other base", "a deb not intact", "never resolved"],
)
def test_a_stage_whose_set_is_not_current_is_resolved_again_only_when_debs_run(change: dict[str, object]) -> None:
    """Other packages or platform, another base, a broken .deb, no inputs.json: the runtime stage is resolved again; the builder kept."""
    plan = plan_sync(_facts(**change))
    assert plan.debs_todo == ["runtime"] and plan.phases["debs"].fetch[0].startswith("debs/runtime/ (apt in ")
    assert "debs/builder/Packages" in plan.phases["debs"].keep
    plan = plan_sync(_facts(only=("wheels", "sources", "images"), **change))
    assert plan.debs_todo == [] and "debs/runtime/Packages" in plan.phases["debs"].keep


# ------------------------------------------------------------ builds: pins that ship only an sdist

from airlock import sdist  # noqa: E402
from airlock.wheels import SdistChoice  # noqa: E402

DOCOPT = Pin("docopt", "0.6.2", ("d" * 64,))
SD_LOCK = replace(LOCK, pins=(NUMPY, IDNA, DOCOPT))
SD_CHOICE = SdistChoice(DOCOPT, "docopt-0.6.2.tar.gz", "https://files/docopt-0.6.2.tar.gz", "d" * 64, 100)
SD_ENTRY = sdist.SdistEntry("docopt", "0.6.2", "d" * 64, ("setuptools>=40.8.0",))
BUILD_LOCK = sdist.make_build_lock(DEMO, "uv test", TARGET.label, "https://pypi.org/simple", (SD_ENTRY,), (Pin("setuptools", "80.9.0", ("5" * 64,)),))
DEP = WheelChoice(BUILD_LOCK.lock.pins[0], "setuptools-80.9.0-py3-none-any.whl", "https://files/setuptools.whl", "5" * 64, 100)
BUILT_WHL = "wheels/docopt-0.6.2-py2.py3-none-any.whl"


def _record(**kw: object) -> sdist.Provenance:
    rec = sdist.Provenance(
        name="docopt", version="0.6.2", sdist_filename="docopt-0.6.2.tar.gz", sdist_sha256="d" * 64, sdist_url=SD_CHOICE.url,
        build_lock_sha256="b" * 64, build_deps=("setuptools==80.9.0",), builder_image="x", builder_id=BASE, builder_debs_sha256="8" * 64,
        target=TARGET.label, source_date_epoch=1402000000, wheel_filename=BUILT_WHL.split("/")[1], wheel_sha256="e" * 64, wheel_size=10,
    )  # fmt: skip
    return replace(rec, **kw)  # type: ignore[arg-type]


def _sd_facts(**kw: object) -> SyncFacts:
    """The complete store with an sdist-only pin whose wheel is built and current, changed by ``kw``."""
    rec = _record()
    known = {**_facts().known, BUILT_WHL: "e" * 64, rec.rel: "4" * 64, "builds/docopt-0.6.2.tar.gz": "d" * 64, layout.install_lock(): "3" * 64}
    base = _facts(lock=SD_LOCK, known=known, build_lock=BUILD_LOCK, build_lock_sha256="b" * 64, records={rec.rel: rec})
    return replace(base, **kw)  # type: ignore[arg-type]


def test_a_current_built_wheel_is_kept_with_its_record_sdist_and_install_lock() -> None:
    """Same sdist, build deps, builder base and .debs, the wheel intact: nothing to build, every file kept."""
    plan = plan_sync(_sd_facts())
    assert plan.noop and plan.sdist_jobs == [] and [r.key for r in plan.records] == ["docopt"]
    assert BUILT_WHL in plan.phases["wheels"].keep
    assert sorted(plan.phases["builds"].keep) == sorted(["builds/docopt-0.6.2.provenance.json", "builds/docopt-0.6.2.tar.gz", "builds/install-lock.txt"])


def test_an_sdist_only_pin_without_a_wheel_is_built_with_its_locked_deps() -> None:
    """No record yet: one build job, its build dependencies to fetch, the job shown in the plan."""
    known = {k: v for k, v in _sd_facts().known.items() if layout.folder_of(k) != layout.BUILDS and k != BUILT_WHL}
    plan = plan_sync(_sd_facts(known=known, records={}, sdist_choices=[SD_CHOICE], build_dep_choices=[DEP]))
    assert [j.choice for j in plan.sdist_jobs] == [SD_CHOICE] and plan.sdist_jobs[0].expect is None and plan.build_dep_choices == [DEP]
    assert plan.phases["builds"].fetch == ["build docopt==0.6.2 from builds/docopt-0.6.2.tar.gz in the builder base, no network"]
    plan = plan_sync(_sd_facts(known=known, records={}, sdist_choices=[], only=("wheels",)))
    assert plan.sdist_jobs == [] and plan.phases["builds"].fetch == []


def test_the_same_inputs_with_the_wheel_gone_build_again_expecting_the_recorded_bytes() -> None:
    """The wheel missing (or altered) but the inputs unchanged: built again, and the job carries the recorded sha256."""
    known = {k: v for k, v in _sd_facts().known.items() if k != BUILT_WHL}
    plan = plan_sync(_sd_facts(known=known, sdist_choices=[SD_CHOICE], build_dep_choices=[DEP]))
    assert plan.sdist_jobs[0].expect == "e" * 64 and "must reproduce sha256 eeeeeeeeeeee" in plan.phases["builds"].fetch[0]
    assert "builds/docopt-0.6.2.provenance.json" in plan.phases["builds"].keep
    altered = plan_sync(_sd_facts(known={**known, BUILT_WHL: "a" * 64}, sdist_choices=[SD_CHOICE], build_dep_choices=[DEP]))
    assert altered.sdist_jobs[0].expect == "e" * 64 and BUILT_WHL in altered.phases["wheels"].remove


def test_a_record_of_other_inputs_is_removed_and_the_pin_built_afresh() -> None:
    """Another build-deps lock: the record is stale (removed, no expectation), its wheel removed, the pin built again."""
    plan = plan_sync(_sd_facts(build_lock_sha256="0" * 64, sdist_choices=[SD_CHOICE], build_dep_choices=[DEP]))
    assert plan.sdist_jobs[0].expect is None and plan.records == []
    assert "builds/docopt-0.6.2.provenance.json" in plan.phases["builds"].remove and BUILT_WHL in plan.phases["wheels"].remove


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"build_lock": None, "build_lock_sha256": None}, "docopt==0.6.2: only an sdist for cp311 linux/amd64 glibc2.36, and locks/debian12-cpu-py3.11.build.txt"),
        ({"build_lock_problems": ("locks/x.build.txt: its pins or hashes were changed",)}, "refusing to build docopt==0.6.2: locks/x.build.txt: its pins or hashes were changed"),
        ({"build_lock": replace(BUILD_LOCK, sdists=())}, "locks/debian12-cpu-py3.11.build.txt does not lock the build of docopt==0.6.2"),
    ],
    ids=["no build lock", "build lock edited", "build lock lacks the pin"],
)
def test_a_build_is_refused_before_it_starts_when_its_deps_are_not_locked(kw: dict[str, object], message: str) -> None:
    """No build-deps lock, one edited by hand, or one that lacks the pin: IntegrityError (exit 1) naming the package and the file."""
    from airlock.errors import IntegrityError

    with pytest.raises(IntegrityError) as exc:
        plan_sync(_sd_facts(records={}, sdist_choices=[SD_CHOICE], **kw))
    assert str(exc.value).startswith(message)


def _system_lock(sha: str) -> "syslock.SystemLock":
    from airlock import syslock

    base = syslock.BasePin(ref=images.base_image(PRESET, "builder").ref, suite="bookworm")
    deb = syslock.DebPin(package="python3.11", version="3.11.2-6", arch="amd64", size=1, sha256=sha, filename="python3.11_3.11.2-6_amd64.deb",
                         url="http://deb.debian.org/debian/pool/main/p/python3.11/python3.11_3.11.2-6_amd64.deb", origin="Debian:12.12/stable")
    stage = syslock.StageLock(base=base, packages=(), debs=(deb,))
    return syslock.SystemLock(schema=1, preset=DEMO, platform=PRESET.platform, inputs=syslock.input_digest(PRESET), locked="20261126T120000Z",
                              stages={"builder": stage, "runtime": stage})  # type: ignore[arg-type]


def test_a_stage_whose_packages_are_not_the_system_locks_is_resolved_again() -> None:
    """Packages naming exactly the locked .debs (file, sha256): kept; another sha256 for one: that stage fetched again, from the lock."""
    index = {s: {"python3.11_3.11.2-6_amd64.deb": "6" * 64} for s in images.STAGES}
    assert plan_sync(_facts(system_lock=_system_lock("6" * 64), deb_index=index)).noop
    plan = plan_sync(_facts(system_lock=_system_lock("5" * 64), deb_index=index))
    assert plan.debs_todo == list(images.STAGES) and "1 locked .debs" in plan.phases["debs"].fetch[0]
    plan = plan_sync(_facts(system_lock=_system_lock("5" * 64), deb_index=index, only=("wheels",)))
    assert plan.debs_todo == [] and plan.noop


# --------------------------------------------- check_space: refused before anything is written, in one line

from airlock import syslock  # noqa: E402
from airlock.errors import ExternalError  # noqa: E402
from airlock.sync import SPARE_BYTES, check_space  # noqa: E402

SYSLOCK = syslock.read(REPO / "locks" / f"{DEMO}.system.json")


def test_the_bytes_a_sync_writes_are_its_new_wheels_and_the_debs_of_each_stage_it_resolves() -> None:
    """fetch_bytes: the index's size of each wheel to fetch plus the system lock's size of every .deb of a stage to resolve."""
    wheel = WheelChoice(IDNA, IDNA_WHL.split("/")[1], "https://files/idna.whl", "3" * 64, 70_000)
    builder = {d.filename: d.sha256 for d in SYSLOCK.stage("builder").debs}  # type: ignore[union-attr]
    plan = plan_sync(_facts(known=_without(IDNA_WHL), wheel_choices=[wheel], deb_complete={"builder": True, "runtime": False},
                            system_lock=SYSLOCK, deb_index={"builder": builder}))
    runtime = sum(d.size for d in SYSLOCK.stage("runtime").debs)  # type: ignore[union-attr]
    assert plan.debs_todo == ["runtime"] and runtime > 1_000_000
    assert plan.fetch_bytes == 70_000 + runtime
    assert plan_sync(_facts()).fetch_bytes == 0


def test_a_sync_that_cannot_fit_is_refused_in_one_line_naming_the_store_and_the_sizes(tmp_path: Path) -> None:
    """Free space below what the sync writes plus the spare: ExternalError (exit 3), one line; enough space: no error."""
    wheel = WheelChoice(IDNA, IDNA_WHL.split("/")[1], "https://files/idna.whl", "3" * 64, 300_000_000)
    plan = plan_sync(_facts(known=_without(IDNA_WHL), wheel_choices=[wheel]))
    asked: list[Path] = []

    def free(p: Path) -> int:
        asked.append(p)
        return 200_000_000

    with pytest.raises(ExternalError) as exc:
        check_space(plan, tmp_path / "proj" / "artifacts" / DEMO, free)
    msg = str(exc.value)
    assert msg == (f"artifacts/{DEMO}: this sync writes up to 300.0 MB of wheels and .debs and needs 536.9 MB spare, but its disk "
                   "has 200.0 MB free; free space there, or make artifacts/ a symlink to a bigger disk")
    assert exc.value.exit_code == 3 and asked == [tmp_path]  # the nearest folder that exists (no artifacts/ yet)
    check_space(plan, tmp_path, lambda _: 300_000_000 + SPARE_BYTES)
