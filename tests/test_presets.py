"""Preset schema, compatibility rules, names, overrides, and the one-line errors of inv presets."""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
import string
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airlock import compat, images
from airlock.errors import HashMismatch, PresetError
from airlock.names import NAME_MAX, is_valid_name
from airlock.presets import Preset, dump_preset, load_preset_file, parse_preset
from airlock.project import Project
from airlock.prompt import make_preset, options_cuda, options_python, options_tensorrt, options_torch
from tests.conftest import DEMO, JAMMY, REPO, clone_project, inv

CUDA121 = "ubuntu22.04-cuda12.1-torch2.3"
CUDA118 = "ubuntu22.04-cuda11.8-torch2.1"
CUDA115 = "ubuntu22.04-cuda11.5-torch2.0"


#: The keyring URL presets pinned until Ubuntu withdrew it (HTTP 404 since 2026-11).
DEAD_KEYRING = {
    "url": "http://archive.ubuntu.com/ubuntu/project/ubuntu-archive-keyring.gpg",
    "sha256": "80a36b0a6de2f69f49d2df75ef473ccde121e9e190b9ea01d20a4f63778d5c31",
}


def _data(name: str) -> dict:  # type: ignore[type-arg]
    return json.loads((REPO / "presets" / f"{name}.json").read_text())


def _set(d: dict, path: str, value: object) -> dict:  # type: ignore[type-arg]
    d = copy.deepcopy(d)
    cur = d
    keys = path.split(".")
    for k in keys[:-1]:
        cur = cur[k]
    cur[keys[-1]] = value
    return d


def _jammy(**builder: object) -> dict:  # type: ignore[type-arg]
    """Changes that move the demo onto a bootstrapped Ubuntu 22.04 (builder's bootstrap altered by ``builder``)."""
    return {"os": "ubuntu22.04", "base.builder.bootstrap": {**JAMMY, **builder}, "base.runtime.bootstrap": JAMMY}


# ---------------------------------------------------------------- compat rules, one failing preset each
RULES = [
    ("TensorRT 8.x needs CUDA 11.8", CUDA121, {"tensorrt.version": "8.6.1.6"}, "tensorrt.version", "needs CUDA 11.8"),
    ("a TensorRT 8.x tar needs CUDA 11.x", CUDA121,
     {"tensorrt": {"version": "8.6.1.6", "source": "tar", "url": "file:///srv/TensorRT-8.6.1.6.tar.gz", "sha256": "0" * 64}},
     "tensorrt.version", "TensorRT 8.x (tar) needs CUDA 11.x (preset has CUDA 12.1)"),
    ("TensorRT fits torch's wheels' CUDA too", CUDA115,
     {"tensorrt": {"version": "10.0.1.6", "source": "tar", "url": "file:///srv/TensorRT-10.0.1.6.tar.gz", "sha256": "0" * 64}},
     "tensorrt.version", "TensorRT 10.x (tar) needs CUDA 12.x (preset has CUDA 11.5, 11.7)"),
    ("TensorRT 10.x needs CUDA 12.x", CUDA118, {"tensorrt.version": "10.0.1.6"}, "tensorrt.version", "needs CUDA 12.x"),
    ("unknown TensorRT major", CUDA121, {"tensorrt.version": "9.0.0"}, "tensorrt.version", "not supported"),
    ("TensorRT needs CUDA", DEMO, {"tensorrt": {"version": "10.0.1.6", "source": "wheel", "wheels": ["x==1"]}}, "tensorrt", "needs CUDA"),
    ("torch CUDA tag matches the preset's CUDA", CUDA121, {"torch.cuda_tag": "cu118"}, "torch.cuda_tag", "does not match"),
    ("torch index URL serves that tag", CUDA118, {"torch.index_url": "https://pypi.org/simple"}, "torch.index_url", "does not serve"),
    ("torch has a build for the CUDA", CUDA121, {"torch.torch": "2.0.1", "torch.torchvision": "0.15.2", "torch.torchaudio": "2.0.2"}, "torch.cuda_tag", "no cu121 build"),
    ("torchvision matches torch", CUDA121, {"torch.torchvision": "0.17.2"}, "torch.torchvision", "pairs with torchvision 0.18.1"),
    ("torchaudio matches torch", CUDA121, {"torch.torchaudio": "2.2.2"}, "torch.torchaudio", "pairs with torchaudio 2.3.1"),
    ("unknown torch release", CUDA121, {"torch.torch": "9.9.9"}, "torch.torch", "not a known release"),
    ("CUDA presets stay on Ubuntu 22.04", CUDA121, {"os": "debian12", "python.version": "3.11"}, "os", "stay on ubuntu22.04"),
    ("OS ships the Python", DEMO, {"python.version": "3.12"}, "python.version", "ships Python"),
    ("cuDNN matches CUDA", CUDA121, {"cuda.cudnn": "9"}, "cuda.cudnn", "ship cuDNN 8"),
    ("known CUDA", CUDA121, {"cuda.version": "10.2"}, "cuda.version", "not one of"),
    ("base image names the CUDA", CUDA121, {"base.builder.image": "nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04"}, "base.builder.image", "does not name CUDA 12.1"),
    ("OpenCV CUDA needs CUDA", DEMO, {"opencv": {"version": "4.6.0", "url": "http://x/o.tar.xz", "sha256": "0" * 64, "cuda": True}}, "opencv.cuda", "needs a CUDA preset"),
    ("OpenCV CUDA needs contrib's cudev", CUDA121, {"opencv.contrib": None}, "opencv.contrib", "cudev"),
    ("bootstrap suite is the OS's", DEMO, {"base.builder.bootstrap.suite": "trixie"}, "base.builder.bootstrap.suite", "debian12 is debootstrap suite bookworm, not trixie"),
    ("further suites belong to the suite", DEMO, {"base.runtime.bootstrap.suites": ["jammy-updates"]}, "base.runtime.bootstrap.suites", "jammy-updates is not a suite of bookworm"),
    ("Ubuntu bootstrap pins its archive keys", DEMO, _jammy(keyring=None), "base.builder.bootstrap.keyring", f"not on a Debian host; pin them: {json.dumps(JAMMY['keyring'])}"),
    ("a withdrawn keyring URL names the pin to use", DEMO, _jammy(keyring=DEAD_KEYRING), "base.builder.bootstrap.keyring.url",
     f"{DEAD_KEYRING['url']} answers HTTP 404 since 2026-11; pin the keyring package instead: {json.dumps(JAMMY['keyring'])}"),
    ("a keyring member is a path inside a .deb", DEMO, _jammy(keyring={**JAMMY["keyring"], "url": "http://x/keys.gpg"}),  # type: ignore[dict-item]
     "base.builder.bootstrap.keyring", "the url must name the keyring package (*.deb)"),
    ("torch's cuDNN is the preset's", CUDA121, {"torch.torch": "2.4.1", "torch.torchvision": "0.19.1", "torch.torchaudio": "2.4.1"}, "cuda.cudnn",
     "torch 2.4.1's CUDA wheels bring cuDNN 9 (nvidia-cudnn); the preset says cuDNN 8"),
    ("OpenCV's CUDA architectures are ones the toolkit compiles", CUDA121,
     {"opencv.cmake_flags": ["-DCUDA_ARCH_BIN=8.6;10.0", "-DCUDA_ARCH_PTX=9.0"]}, "opencv.cmake_flags",
     "CUDA_ARCH_BIN 10.0: CUDA 12.1's nvcc compiles for architectures 5.0 to 9.0; for a newer GPU give -DCUDA_ARCH_PTX=9.0"),
    ("Ubuntu 22.04's Python 3.11 needs jammy-updates", DEMO, _jammy(suites=[]), "base.builder.bootstrap.suites", "only in jammy-updates/universe"),
    ("Ubuntu 22.04's Python 3.11 needs universe", DEMO, _jammy(components=["main"]), "base.builder.bootstrap.suites", "add \"universe\" to components"),
    ("a second cv2 from PyPI is refused when OpenCV's bindings are built", CUDA115,
     {"requirements.packages": ["numpy<2", "opencv-python-headless>=4"]}, "requirements.packages", "a second cv2 that would shadow"),
    ("opencv.python needs python3 in a BUILD_LIST", CUDA115,
     {"opencv.cmake_flags": ["-DCUDA_ARCH_BIN=7.5", "-DCUDA_HOST_COMPILER=/usr/bin/g++-10", "-DBUILD_LIST=core,cudev"]}, "opencv.cmake_flags",
     "-DBUILD_LIST lacks python3"),
    ("a wheels runtime takes no CUDA base", CUDA115, {"base.runtime": {"image": "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"}},
     "base.runtime.image", "a runtime would hold it twice"),
    ("a bootstrapped builder compiles with its OS's toolkit", CUDA115, {"cuda.version": "11.8", "opencv.cmake_flags": ["-DCUDA_ARCH_BIN=7.5"]},
     "cuda.version", "a bootstrapped builder compiles with ubuntu22.04's own CUDA toolkit, which is 11.5, not 11.8"),
    ("a bootstrapped builder needs nvcc's package", CUDA115, {"apt.build": ["build-essential", "g++-10"]}, "apt.build", "needs nvidia-cuda-toolkit (nvcc)"),
    ("CUDA 11.5's nvcc needs an older host compiler", CUDA115,
     {"opencv.cmake_flags": ["-DCUDA_ARCH_BIN=7.5", "-DCUDA_ARCH_PTX=8.6"]}, "opencv.cmake_flags", "add -DCUDA_HOST_COMPILER=/usr/bin/g++-10"),
    ("the host compiler is in the build set", CUDA115,
     {"apt.build": ["nvidia-cuda-toolkit", "build-essential"]}, "apt.build", "-DCUDA_HOST_COMPILER=/usr/bin/g++-10 needs g++-10 in apt.build"),
    ("torch's wheels' CUDA is the toolkit's major", CUDA115,
     {"torch.torch": "2.3.1", "torch.torchvision": "0.18.1", "torch.torchaudio": "2.3.1", "torch.cuda_tag": "cu121"}, "torch.cuda_tag",
     "torch's cu121 wheels bring CUDA 12.1; parts compiled by CUDA 11.5 need the same major"),
    ("CUDA 11.5 cannot compile sm_90", CUDA115,
     {"opencv.cmake_flags": ["-DCUDA_ARCH_BIN=7.5;9.0", "-DCUDA_HOST_COMPILER=/usr/bin/g++-10"]}, "opencv.cmake_flags",
     "CUDA_ARCH_BIN 9.0: CUDA 11.5's nvcc compiles for architectures 3.5 to 8.6; for a newer GPU give -DCUDA_ARCH_PTX=8.6"),
    ("source archives end in distinct file names", CUDA121, {"opencv.contrib.url": "http://mirror.example/opencv_4.10.0+dfsg.orig.tar.xz"}, "opencv.contrib.url", "same file name as opencv.url"),
]


@pytest.mark.parametrize(("rule", "base", "changes", "field", "words"), RULES, ids=[r[0] for r in RULES])
def test_each_rule_fails_naming_the_field(rule: str, base: str, changes: dict, field: str, words: str | None) -> None:  # type: ignore[type-arg]
    """One preset breaking one rule: PresetError names the file and the field."""
    data = _data(base)
    for path, value in changes.items():
        data = _set(data, path, value)
    with pytest.raises(PresetError) as exc:
        parse_preset(data, f"presets/{base}.json")
    assert exc.value.field == field, str(exc.value)
    assert str(exc.value).startswith(f"presets/{base}.json: {field}: ")
    if words:
        assert words in str(exc.value)


def test_a_bootstrapped_ubuntu_base_that_follows_the_rules_loads() -> None:
    """The rules above reject only what is wrong: the demo on a pinned, updated jammy base is valid."""
    data = _data(DEMO)
    for path, value in _jammy().items():
        data = _set(data, path, value)
    preset = parse_preset(data, "presets/x.json")
    assert preset.base.builder.bootstrap is not None
    assert preset.base.builder.bootstrap.sources_list() == (
        "deb http://archive.ubuntu.com/ubuntu jammy main universe\n"
        "deb http://archive.ubuntu.com/ubuntu jammy-updates main universe\n"
    )


def test_bootstrapped_base_ref_is_stable_and_follows_the_new_fields() -> None:
    """The demo's base ref (its tarball's name in every synced store) did not move when suites/keyring were added; setting them does move it."""
    demo = parse_preset(_data(DEMO), "presets/demo.json")
    assert images.base_image(demo, "builder").ref == "airlock-base/debian12:bookworm-minbase-f8f9def88e62"
    data = _data(DEMO)
    for path, value in _jammy().items():
        data = _set(data, path, value)
    ubuntu = parse_preset(data, "presets/x.json")
    refs = {images.base_image(ubuntu, "builder").ref, images.base_image(_replace_keyring(data), "builder").ref}
    assert len(refs) == 2 and all(r.startswith("airlock-base/ubuntu22.04:jammy-minbase-") for r in refs)


def test_keyring_sha_mismatch_names_the_preset_field(tmp_path: Path) -> None:
    """A keyring whose bytes do not match its pin fails before debootstrap runs, naming base.<stage>.bootstrap.keyring and both digests."""
    key = tmp_path / "ubuntu-keyring_2021.03.26_all.deb"
    key.write_bytes(b"not the pinned keys")
    data = _data(DEMO)
    for path, value in _jammy().items():
        data = _set(data, path, value)
    data = _set(data, "base.builder.bootstrap.keyring.url", key.as_uri())
    preset = parse_preset(data, "presets/x.json")
    ran: list[list[str]] = []

    def runner(argv: Sequence[str | os.PathLike[str]], **_: object) -> subprocess.CompletedProcess[str]:
        ran.append([os.fspath(a) for a in argv])
        return subprocess.CompletedProcess(ran[-1], 0, "", "")

    with pytest.raises(HashMismatch) as exc:
        images.bootstrap(images.base_image(preset, "builder"), run=runner, which=lambda _: "/usr/sbin/debootstrap")
    msg = str(exc.value)
    assert msg.startswith(f"base.builder.bootstrap.keyring ({key.as_uri()}): sha256 mismatch")
    assert JAMMY["keyring"]["sha256"] in msg and hashlib.sha256(b"not the pinned keys").hexdigest() in msg  # type: ignore[index]
    assert exc.value.exit_code == 1 and ran == []


def _replace_keyring(data: dict) -> Preset:  # type: ignore[type-arg]
    return parse_preset(_set(data, "base.builder.bootstrap.keyring.sha256", "0" * 64), "presets/x.json")


def test_torch_must_support_the_python() -> None:
    """Where the OS ships Python 3.12, torch 2.1.2 (Python < 3.12) is refused on python.version."""
    preset = Preset.model_validate(_set(_data(CUDA118), "python.version", "3.12"))
    problems = compat.check(preset, os_pythons={**compat.OS_PYTHONS, "ubuntu22.04": ("3.10", "3.11", "3.12")})
    assert [(v.field, "torch 2.1.2 supports Python" in v.message) for v in problems] == [("python.version", True)]
    assert compat.check(preset)[0].message.startswith("ubuntu22.04 ships Python 3.10, 3.11 as .debs, not 3.12")


def test_shipped_presets_load() -> None:
    """Every shipped preset loads and is compatible."""
    for path in sorted((REPO / "presets").glob("*.json")):
        assert load_preset_file(path).name == path.stem


# ---------------------------------------------------------------- round trip and names
@st.composite
def presets(draw: st.DrawFn) -> dict:  # type: ignore[type-arg]
    cuda = draw(st.sampled_from(options_cuda()))
    python = draw(st.sampled_from(options_python(cuda)))
    torch = draw(st.sampled_from(options_torch(cuda, python)))
    trt = draw(st.sampled_from(options_tensorrt(cuda)))
    data = make_preset(Project(REPO), cuda, python, torch, trt)
    data["description"] = draw(st.text(max_size=40))
    data["apt"]["runtime"] = draw(st.lists(st.from_regex(r"[a-z0-9][a-z0-9+.-]{1,12}", fullmatch=True), max_size=4))
    return data


@settings(max_examples=100, deadline=None)
@given(presets())
def test_preset_json_round_trip(data: dict) -> None:  # type: ignore[type-arg]
    """dump_preset then parse gives back an equal preset."""
    p = parse_preset(data, "x")
    assert parse_preset(json.loads(dump_preset(p)), "x") == p


def _oracle(name: str) -> bool:
    if not 1 <= len(name) <= NAME_MAX:
        return False
    alnum = set(string.ascii_lowercase + string.digits)
    seps = set("._-")
    if name[0] not in alnum or name[-1] not in alnum:
        return False
    for a, b in zip(name, name[1:]):
        if a not in alnum | seps or b not in alnum | seps:
            return False
        if a in seps and b in seps:
            return False
    return all(c in alnum | seps for c in name)


@settings(max_examples=500)
@given(st.one_of(st.text(max_size=70), st.from_regex(r"[a-z0-9._/ A-Z-]{0,70}", fullmatch=True)))
def test_name_pattern_matches_the_oracle(name: str) -> None:
    """is_valid_name accepts exactly lower-case alnum runs joined by single '.', '-' or '_', 1-64 long."""
    assert is_valid_name(name) == _oracle(name)


@pytest.mark.parametrize("bad", ["../x", "/abs", "has space", "Upper", "a..b", "a-", "-a", "", "x" * 65, "a/b", "a\\b"])
def test_bad_names_are_rejected(bad: str) -> None:
    assert not is_valid_name(bad)


@pytest.mark.parametrize("good", ["ubuntu22.04-cuda11.8-torch2.1", "debian12-cpu-py3.11", "a", "x" * 64, "a_b.c-d"])
def test_good_names_are_accepted(good: str) -> None:
    assert is_valid_name(good)


# ---------------------------------------------------------------- CLI errors: one line, exit 2, nothing written
def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.parametrize(
    ("case", "mutate", "needle"),
    [
        ("malformed JSON", lambda p: p.write_text(p.read_text()[:-20]), "malformed JSON"),
        ("unknown field", lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "colour": "red"})), "colour: unknown field"),
        ("incompatible", lambda p: p.write_text(json.dumps(_set(json.loads(p.read_text()), "python.version", "3.12")), ), "python.version"),
        ("name mismatch", lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "name": "other-name"})), "name: 'other-name' does not match"),
        ("missing .in", lambda p: (p.parent / f"{DEMO}.in").unlink(), None),
        ("wrong type", lambda p: p.write_text(json.dumps(_set(json.loads(p.read_text()), "apt.build", "gcc"))), "apt.build"),
    ],
)
def test_bad_preset_gives_one_line_exit_2_and_writes_nothing(tmp_path: Path, case: str, mutate, needle: str | None) -> None:  # type: ignore[no-untyped-def]
    """inv presets --show on a bad preset: exit 2, one 'airlock: error:' line naming file and field, no change on disk."""
    proj = clone_project(tmp_path / "p")
    mutate(proj / "presets" / f"{DEMO}.json")
    before = _tree(proj)
    for args in (["presets", "--show", DEMO], ["lock", "--preset", DEMO, "--check"]):
        proc = inv(proj, *args)
        if case == "missing .in" and args[0] == "presets":
            continue  # --show does not read the requirements file; lock does
        assert proc.returncode == 2, (case, args, proc.stdout, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("airlock: error:") and "Traceback" not in proc.stderr
        assert f"{DEMO}" in lines[0]
        if needle:
            assert needle in lines[0], lines[0]
    assert _tree(proj) == before


@pytest.mark.parametrize("bad", ["../x", "/abs", "has space", "Upper"])
def test_bad_preset_name_on_the_command_line(tmp_path: Path, bad: str) -> None:
    """A bad --preset value: exit 2, one line naming the rule."""
    proj = clone_project(tmp_path / "p")
    proc = inv(proj, "presets", "--show", bad)
    assert proc.returncode == 2 and "not a valid preset name" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_presets_lists_every_preset_with_its_versions(tmp_path: Path) -> None:
    """inv presets prints a row per preset with OS, CUDA, Python, torch, TensorRT."""
    proc = inv(REPO, "presets")
    assert proc.returncode == 0
    rows = {line.split()[0]: line for line in proc.stdout.splitlines()[1:]}
    assert set(rows) == {p.stem for p in (REPO / "presets").glob("*.json")}
    assert re.search(r"ubuntu22\.04\s+11\.8 \(cuDNN 8\)\s+3\.10\s+2\.1\.2 \(cu118\)\s+8\.6\.1\.6 \(deb\)", rows[CUDA118])


def test_env_override_applies_and_bad_value_names_the_variable(tmp_path: Path) -> None:
    """AIRLOCK_BASE_IMAGE replaces both bases in --show; a value breaking a rule names the variable."""
    proj = clone_project(tmp_path / "p")
    img = "nvidia/cuda:12.1.0-cudnn8-devel-ubuntu22.04"
    proc = inv(proj, "presets", "--show", CUDA121, env={"AIRLOCK_BASE_IMAGE": img})
    assert proc.returncode == 0, proc.stderr
    shown = json.loads(proc.stdout)
    assert shown["base"]["builder"]["image"] == img == shown["base"]["runtime"]["image"]
    proc = inv(proj, "presets", "--show", CUDA121, env={"AIRLOCK_RUNTIME_IMAGE": "nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04"})
    assert proc.returncode == 2 and "AIRLOCK_RUNTIME_IMAGE" in proc.stderr and "base.runtime.image" in proc.stderr


def test_copied_folder_works_on_its_own(tmp_path: Path) -> None:
    """airlock acts on the folder it runs in: a preset only in the copy is listed there."""
    proj = clone_project(tmp_path / "site")
    data = _data(DEMO)
    data["name"] = "debian12-cpu-py3.11-site"
    (proj / "presets" / "debian12-cpu-py3.11-site.json").write_text(json.dumps(data))
    proc = inv(proj, "presets")
    assert proc.returncode == 0 and "debian12-cpu-py3.11-site" in proc.stdout
    assert "debian12-cpu-py3.11-site" not in inv(REPO, "presets").stdout


def test_package_versions_doc_is_fresh() -> None:
    """docs/package-versions.md matches what inv docs generates (CI fails when it is stale)."""
    proc = inv(REPO, "docs", "--check")
    assert proc.returncode == 0, proc.stderr


def test_docs_check_fails_after_a_preset_change(tmp_path: Path) -> None:
    """Changing a preset makes inv docs --check exit 1 until inv docs runs."""
    proj = clone_project(tmp_path / "p")
    p = proj / "presets" / f"{DEMO}.json"
    p.write_text(json.dumps(_set(json.loads(p.read_text()), "apt.runtime", ["ca-certificates", "tzdata"])))
    assert inv(proj, "docs", "--check").returncode == 1
    assert inv(proj, "docs").returncode == 0
    assert inv(proj, "docs", "--check").returncode == 0
    assert "tzdata" in (proj / "docs" / "package-versions.md").read_text()


@pytest.mark.parametrize("name", [CUDA121, CUDA118])
def test_shipped_cuda_presets_run_on_hopper_and_an_older_generation(name: str) -> None:
    """OpenCV in the CUDA presets has kernels for sm_90 (H100/H200) and for an older generation, and PTX for GPUs after it."""
    archs = compat.cuda_archs(parse_preset(_data(name), f"presets/{name}.json").opencv.cmake_flags)  # type: ignore[union-attr]
    assert "9.0" in archs["CUDA_ARCH_BIN"] and any(float(a) < 9.0 for a in archs["CUDA_ARCH_BIN"])
    assert archs["CUDA_ARCH_PTX"] == ["9.0"]


def test_every_torch_release_knows_its_cudnn() -> None:
    """The cuDNN rule covers every torch release the tables know."""
    assert set(compat.TORCH_CUDNN) == set(compat.TORCH)


def test_cuda_from_wheels_preset_runs_on_hopper_through_ptx() -> None:
    """CUDA 11.5 predates sm_90: the shipped preset has SASS for Turing and Ampere and PTX 8.6, which Hopper's driver compiles."""
    preset = parse_preset(_data(CUDA115), f"presets/{CUDA115}.json")
    archs = compat.cuda_archs(preset.opencv.cmake_flags)  # type: ignore[union-attr]
    assert "7.5" in archs["CUDA_ARCH_BIN"] and archs["CUDA_ARCH_PTX"] == ["8.6"]


def test_min_driver_is_the_strictest_of_toolkit_and_torch_wheels() -> None:
    """The label takes torch's CUDA 11.7 (515.43.04) over the 11.5 toolkit (495.29.05); an image preset keeps its CUDA's."""
    assert compat.preset_cudas(parse_preset(_data(CUDA115), "x")) == ("11.5", "11.7")
    assert compat.preset_min_driver(parse_preset(_data(CUDA115), "x")) == "515.43.04"
    assert compat.preset_min_driver(parse_preset(_data(CUDA121), "x")) == "530.30.02"
    assert compat.preset_min_driver(parse_preset(_data(DEMO), "x")) == ""


@pytest.mark.parametrize(("names", "field", "words"), [
    ({"numpy", "opencv-python-headless", "nvidia-cuda-runtime-cu11", "nvidia-cublas-cu11", "nvidia-cufft-cu11", "nvidia-npp-cu11"},
     "opencv.python", "the lock installs opencv-python-headless, a second cv2"),
    ({"nvidia-cuda-runtime-cu11", "nvidia-cublas-cu11", "nvidia-cufft-cu11", "nvidia-npp-cu11"}, "opencv.python", "compile against numpy"),
    ({"numpy", "nvidia-cuda-runtime-cu11", "nvidia-cublas-cu11", "nvidia-cufft-cu11"}, "cuda.runtime", "the lock lacks nvidia-npp-cu11"),
])
def test_lock_rules_name_the_field(names: set[str], field: str, words: str) -> None:
    """What only the locked set decides: a transitive cv2 wheel, numpy for the bindings, CUDA libraries OpenCV links."""
    got = compat.lock_violations(parse_preset(_data(CUDA115), "x"), names)
    assert [v.field for v in got] == [field] and words in got[0].message, got


def test_shipped_cuda_from_wheels_lock_satisfies_the_lock_rules() -> None:
    from airlock import lockfile

    names = {p.key for p in lockfile.read(REPO / "locks" / f"{CUDA115}.txt").pins}
    assert compat.lock_violations(parse_preset(_data(CUDA115), "x"), names) == []


def test_a_tensorrt_8_tar_fits_the_cuda_11_5_wheels_preset() -> None:
    """NVIDIA's 8.6 tar serves CUDA 11.0 to 11.8: on the CUDA 11.5 preset (torch's 11.7 wheels) it is accepted."""
    data = _set(_data(CUDA115), "tensorrt", {"version": "8.6.1.6", "source": "tar", "url": "file:///srv/TensorRT-8.6.1.6.tar.gz", "sha256": "0" * 64})
    assert parse_preset(data, "x").tensorrt is not None
