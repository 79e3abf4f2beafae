"""Build logic without an engine: the Dockerfile's promises, the deps decision, the deps hash, contexts."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from airlock import build as b
from airlock import lockfile
from airlock.errors import InputError, IntegrityError
from airlock.presets import load_preset
from airlock.project import Project
from tests.conftest import DEMO, REPO, clone_project

DOCKERFILE = (REPO / "Dockerfile").read_text()


def test_dockerfile_has_no_syntax_line_and_no_remote_add() -> None:
    """No '# syntax=' (pulls a frontend image) and no ADD of a URL (reaches the network)."""
    assert not re.search(r"^\s*#\s*syntax\s*=", DOCKERFILE, re.M | re.I)
    assert not re.search(r"^\s*ADD\s+(--\S+\s+)*(https?|git)[:@]", DOCKERFILE, re.M | re.I)
    assert not re.search(r"^\s*ADD\s", DOCKERFILE, re.M)


def test_dockerfile_has_no_secret_looking_build_args() -> None:
    """No ARG whose name looks like a secret: secrets come as secret mounts only."""
    from airlock.secrets import looks_secret

    args = re.findall(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)", DOCKERFILE, re.M)
    assert args and not [a for a in args if looks_secret(a)]
    assert "--mount=type=secret" in DOCKERFILE


def test_dockerfile_pip_is_offline_and_hash_checked() -> None:
    """pip install runs with --no-index, --require-hashes, --only-binary=:all: and --isolated."""
    pip = re.search(r"pip install([^\n]*\\\n)*[^\n]*", DOCKERFILE)
    assert pip is not None
    for flag in ("--no-index", "--require-hashes", "--only-binary=:all:", "--isolated"):
        assert flag in pip.group(0)


def test_dockerfile_stages_and_non_root_runtime() -> None:
    """builder (on builder-base, its parts compiled or prebuilt), runtime-deps, app-build, runtime and dev stages exist; runtime ends as a non-root USER."""
    stages = re.findall(r"^FROM\s+\S+\s+AS\s+(\S+)", DOCKERFILE, re.M)
    assert stages == ["builder-base", "parts-compiled", "parts-prebuilt", "builder", "runtime-deps", "app-build", "runtime", "dev"]
    runtime = DOCKERFILE.split("AS runtime\n", 1)[1].split("\nFROM ", 1)[0]
    assert re.search(r"^USER\s+app\b", runtime, re.M)


def test_deps_stages_precede_the_app_marker() -> None:
    """The deps hash covers the text above the app-build marker: every deps stage sits there."""
    deps = b._deps_dockerfile(DOCKERFILE)
    assert "AS builder" in deps and "AS runtime-deps" in deps and "AS app-build" not in deps


@pytest.mark.parametrize(("exists", "no_cache", "action"), [(True, False, "reuse"), (True, True, "build"), (False, False, "build"), (False, True, "build")])
def test_decide_deps_table(exists: bool, no_cache: bool, action: str) -> None:
    assert b.decide_deps(exists, no_cache) == action


def _hash(proj: Project, **kw: object) -> str:
    preset = load_preset(proj, DEMO)
    store = {"wheels/a.whl": "1" * 64, "sources/f.tar.xz": "2" * 64}
    store.update(kw.get("store", {}))  # type: ignore[arg-type]
    bases = {"builder": "sha256:aa", "runtime": "sha256:bb"}
    bases.update(kw.get("bases", {}))  # type: ignore[arg-type]
    return b.deps_hash(proj, preset, store, bases)


def test_deps_hash_moves_with_every_deps_input_and_not_with_the_app(tmp_path: Path) -> None:
    """The deps hash changes with artifacts, bases, lock, scripts, Dockerfile deps stages, preset; not with app-only edits."""
    proj = Project(clone_project(tmp_path / "p"))
    h0 = _hash(proj)
    assert _hash(proj) == h0
    assert _hash(proj, store={"wheels/a.whl": "3" * 64}) != h0
    assert _hash(proj, bases={"runtime": "sha256:cc"}) != h0
    # app-only changes: the app section of the preset, the app stages of the Dockerfile, the app tree
    import json

    pp = proj.preset_path(DEMO)
    data = json.loads(pp.read_text())
    data["app"]["entrypoint"] = ["something-else"]
    pp.write_text(json.dumps(data))
    df = proj.dockerfile
    df.write_text(df.read_text().replace("WORKDIR /src/app", "WORKDIR /src/app\n# app-only edit"))
    (proj.root / "examples" / "xaiva-media" / "build.sh").write_text("echo changed\n")
    assert _hash(proj) == h0
    # deps changes
    df.write_text(df.read_text().replace("ENV DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PIP", "ENV X=1 DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 PIP", 1))
    h1 = _hash(proj)
    assert h1 != h0
    (proj.root / "docker" / "apt-install").write_text("#!/bin/sh\n")
    assert _hash(proj) != h1
    lock = proj.lock_path(DEMO)
    lock.write_text(lock.read_text() + "\n")
    h2 = _hash(proj)
    data["apt"]["runtime"] = ["ca-certificates", "tzdata"]
    pp.write_text(json.dumps(data))
    assert _hash(proj) != h2


def test_app_files_skip_git_env_and_caches(tmp_path: Path) -> None:
    """The app context never takes .git, .env, __pycache__ or .pyc from the source tree."""
    src = tmp_path / "app"
    (src / ".git").mkdir(parents=True)
    (src / ".git" / "HEAD").write_text("x")
    (src / ".env").write_text("GITHUB_TOKEN=x")
    (src / "pkg" / "__pycache__").mkdir(parents=True)
    (src / "pkg" / "__pycache__" / "m.cpython-311.pyc").write_bytes(b"x")
    (src / "pkg" / "m.py").write_text("x = 1\n")
    (src / "build.sh").write_text("true\n")
    assert sorted(b.app_files(src)) == ["app/build.sh", "app/pkg/m.py"]


def test_missing_app_source_is_a_clear_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not a directory"):
        b.app_files(tmp_path / "nope")


def test_opencv_config_is_offline_and_brings_contrib() -> None:
    """The GPU preset's OpenCV: archive and contrib paths under sources/, offline flags first, preset flags last."""
    preset = load_preset(Project(REPO), "ubuntu22.04-cuda12.1-torch2.3")
    assert preset.opencv is not None and preset.opencv.contrib is not None
    cfg = b._config_files(Project(REPO), preset)
    assert cfg["config/opencv/archive.txt"].decode() == f"/airlock/sources/{preset.opencv.filename}\n"
    assert cfg["config/opencv/contrib-archive.txt"].decode() == f"/airlock/sources/{preset.opencv.contrib.filename}\n"
    flags = cfg["config/opencv/flags.txt"].decode().splitlines()
    # opencv.python (the default): cmake -C python.cmake comes first, then the offline flags
    assert preset.opencv.python and flags[:2] == ["-C", "/airlock/config/python.cmake"]
    flags = flags[2:]
    assert flags[: len(b.OPENCV_OFFLINE_FLAGS)] == list(b.OPENCV_OFFLINE_FLAGS)
    assert flags[-len(preset.opencv.cmake_flags):] == list(preset.opencv.cmake_flags)
    assert {"-DWITH_CUDA=ON", "-DOPENCV_DNN_CUDA=ON"} <= set(flags)
    # every archive the build reads is one the store holds
    assert {s.filename for s in preset.sources} >= {preset.opencv.filename, preset.opencv.contrib.filename}


def test_opencv_python_bindings_compile_against_the_locked_numpy() -> None:
    """opencv.python: numpy.txt is the lock's numpy pin with every hash, and python.cmake installs it hash-checked, offline."""
    project = Project(REPO)
    preset = load_preset(project, "ubuntu22.04-cuda11.5-torch2.0")
    pin = lockfile.read(project.lock_path(preset.name)).by_key()["numpy"]
    cfg = b._config_files(project, preset)
    line = cfg["config/opencv/numpy.txt"].decode().strip()
    assert line.startswith(f"numpy=={pin.version} ") and all(f"--hash=sha256:{h}" in line for h in pin.hashes)
    cmake = cfg["config/opencv/python.cmake"].decode()
    assert "python3.11 -m venv" in cmake and "--no-index --require-hashes --only-binary=:all:" in cmake
    assert "PYTHON3_NUMPY_INCLUDE_DIRS" in cmake and "@PYTHON@" not in cmake


def test_opencv_without_python_bindings_keeps_its_config_as_before() -> None:
    """opencv.python false: no python.cmake or numpy.txt and no -C, so the OpenCV step's cache key is what it was."""
    project = Project(REPO)
    preset = load_preset(project, "ubuntu22.04-cuda12.1-torch2.3")
    assert preset.opencv is not None
    off = preset.model_copy(update={"opencv": preset.opencv.model_copy(update={"python": False})})
    cfg = b._config_files(project, off)
    assert not {"config/opencv/numpy.txt", "config/opencv/python.cmake"} & set(cfg)
    assert cfg["config/opencv/flags.txt"].decode().splitlines()[: len(b.OPENCV_OFFLINE_FLAGS)] == list(b.OPENCV_OFFLINE_FLAGS)


def test_a_part_the_preset_lacks_is_the_word_none() -> None:
    """The demo has no OpenCV or TensorRT tar: their archive files say "none" (never empty, which the scripts refuse)."""
    cfg = b._config_files(Project(REPO), load_preset(Project(REPO), DEMO))
    assert cfg["config/opencv/archive.txt"] == b"none\n"
    assert cfg["config/opencv/contrib-archive.txt"] == b"none\n"
    assert cfg["config/tensorrt/archive.txt"] == b"none\n"
    assert cfg["config/ffmpeg/archive.txt"].decode().startswith("/airlock/sources/ffmpeg_")


def test_each_source_part_has_its_own_context_folder() -> None:
    """FFmpeg's archive under sources/ffmpeg/, OpenCV's and contrib's under sources/opencv/; empty parts still exist."""
    project = Project(REPO)
    preset = load_preset(project, "ubuntu22.04-cuda12.1-torch2.3")
    assert preset.ffmpeg and preset.opencv and preset.opencv.contrib
    files = b.artifact_files(project, preset)
    store = project.artifacts(preset.name)
    assert files[f"sources/ffmpeg/{preset.ffmpeg.filename}"] == store / "sources" / preset.ffmpeg.filename
    assert files[f"sources/opencv/{preset.opencv.filename}"] == store / "sources" / preset.opencv.filename
    assert files[f"sources/opencv/{preset.opencv.contrib.filename}"] == store / "sources" / preset.opencv.contrib.filename
    assert {f"sources/{part}/.keep" for part in b.SOURCE_PARTS} <= set(files)
    assert not [k for k in files if k.startswith("sources/") and k.count("/") != 2]


def test_compile_steps_mount_only_their_own_part_and_precede_the_venv() -> None:
    """Each compile step (parts-compiled, then builder) mounts its own script, config/<part> and sources/<part>; the venv step comes after all of them."""
    def stage(name: str) -> str:
        return DOCKERFILE.split(f" AS {name}\n", 1)[1].split("\nFROM ", 1)[0]

    builder = stage("parts-compiled") + "\n" + stage("builder")
    steps = [st for st in re.split(r"\n(?=RUN )", builder) if st.startswith("RUN ")]
    script = {"ffmpeg": "build-ffmpeg", "opencv": "build-opencv", "tensorrt": "install-tensorrt-tar"}
    where = {}
    for part in b.SOURCE_PARTS:
        [(i, step)] = [(i, st) for i, st in enumerate(steps) if f"scripts/{script[part]}" in st]
        where[part] = i
        mounts = re.findall(r"--mount=type=bind,source=(\S+),", step)
        assert sorted(mounts) == sorted([f"scripts/{script[part]}", f"config/{part}", f"sources/{part}"]), mounts
    venv = next(i for i, st in enumerate(steps) if "pip install" in st)
    assert list(where.values()) == sorted(where.values()) and venv > max(where.values())


# ------------------------------------------------------------------ plan_build(facts): every row of its table, offline


def _build_facts(preset_name: str = "debian12-cpu-py3.11", **kw: object) -> "b.BuildFacts":
    from dataclasses import replace

    from airlock.presets import load_preset_file
    from tests.conftest import REPO

    preset = load_preset_file(REPO / "presets" / f"{preset_name}.json")
    facts = b.BuildFacts(
        preset=preset, target="runtime", tag=f"airlock/{preset.name}:runtime", app_src=Path("/src/app"),
        deps_files={}, app_files={}, sizes={"deps:Dockerfile": 1000, "deps:wheels/x.whl": 2_000_000, "app:app/main.py": 500},
        needed=("wheels/x.whl",), store_sha={"wheels/x.whl": "a" * 64},
        base_refs={"builder": "base/builder:1", "runtime": "base/runtime:1"}, deps_hash="0123456789abcdef" * 4, deps_exist=True,
        lock_digest="sha256:" + "b" * 64,
    )
    return replace(facts, **kw)  # type: ignore[arg-type]


def test_plan_build_refuses_a_needed_file_the_index_lacks() -> None:
    """A store file the deps context needs but manifest.json does not list: IntegrityError naming it and the fix."""
    with pytest.raises(IntegrityError, match=r"^artifacts/debian12-cpu-py3.11: wheels/x.whl is not in manifest.json; run: inv sync --preset debian12-cpu-py3.11$"):
        b.plan_build(_build_facts(store_sha={}))


@pytest.mark.parametrize(("exist", "no_cache", "action"), [(True, False, "reuse"), (True, True, "build"), (False, False, "build"), (False, True, "build")])
def test_plan_build_reuses_deps_only_when_both_tags_exist_and_cache_is_allowed(exist: bool, no_cache: bool, action: str) -> None:
    """The deps decision follows decide_deps; the tags carry the first 16 hex digits of the deps hash."""
    plan = b.plan_build(_build_facts(deps_exist=exist), no_cache=no_cache)
    assert plan.deps_action == action
    assert plan.deps_tags == {s: f"airlock/debian12-cpu-py3.11:deps-0123456789abcdef-{s}" for s in ("builder", "runtime")}


@pytest.mark.parametrize(("target", "base"), [("runtime", "base/runtime:1"), ("dev", "base/builder:1")])
def test_plan_build_labels_name_the_target_its_base_and_the_inputs(target: str, base: str) -> None:
    """The image's labels: title and target, its stage's base, the lock digest and deps hash, and the versions it carries."""
    plan = b.plan_build(_build_facts(target=target, tag=f"my/img:{target}"))
    assert plan.tag == f"my/img:{target}" and plan.target == target
    assert plan.labels["org.opencontainers.image.base.name"] == base and plan.labels["io.airlock.target"] == target
    assert plan.labels["io.airlock.lock-digest"] == "sha256:" + "b" * 64 and plan.labels["io.airlock.deps-hash"] == "0123456789abcdef" * 4
    assert plan.labels["io.airlock.ffmpeg"] == "5.1.9" and plan.labels["io.airlock.cuda"] == "none"


@pytest.mark.parametrize(("preset", "driver"), [("debian12-cpu-py3.11", "none"), ("ubuntu22.04-cuda12.1-torch2.3", "530.30.02"), ("ubuntu22.04-cuda11.8-torch2.1", "520.61.05")])
def test_plan_build_records_the_cuda_minimum_driver(preset: str, driver: str) -> None:
    """A CUDA preset's image carries its toolkit's minimum driver as io.airlock.cuda.min-driver (the GPU probe checks it); a CPU one says none."""
    assert b.plan_build(_build_facts(preset)).labels["io.airlock.cuda.min-driver"] == driver


def test_plan_build_splits_context_sizes_and_renders_them_in_mb() -> None:
    """The plan's two contexts come from the gathered sizes; render() says them in the one byte format."""
    plan = b.plan_build(_build_facts())
    assert plan.deps_context == {"Dockerfile": 1000, "wheels/x.whl": 2_000_000} and plan.app_context == {"app/main.py": 500}
    assert "context     deps 2.0 MB in 2 files (not sent: deps reused); app 0.0 MB in 1 files" in plan.render()
