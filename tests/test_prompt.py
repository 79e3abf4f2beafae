"""The interactive build driver: offered choices, the pty scenario, non-interactive rules."""

from __future__ import annotations

import io
import json
import os
import pty
import select
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from airlock import compat
from airlock.errors import InputError, PresetError
from airlock.presets import load_preset_file, parse_preset
from airlock.project import Project
from airlock.prompt import (
    Choice,
    interactive_choice,
    make_preset,
    missing_message,
    needs_prompt,
    options_cuda,
    options_python,
    options_tensorrt,
    options_torch,
)
from tests.conftest import REPO, clone_project, inv


@st.composite
def offered_path(draw: st.DrawFn) -> tuple[str | None, str, str | None, str | None]:
    """A walk through the prompt taking only offered choices."""
    cuda = draw(st.sampled_from(options_cuda()))
    python = draw(st.sampled_from(options_python(cuda)))
    torch = draw(st.sampled_from(options_torch(cuda, python)))
    trt = draw(st.sampled_from(options_tensorrt(cuda)))
    return cuda, python, torch, trt


@settings(max_examples=150, deadline=None)
@given(offered_path())
def test_offered_choices_always_make_a_valid_preset(path: tuple[str | None, str, str | None, str | None]) -> None:
    """Any sequence of offered choices yields a preset that compat.check accepts."""
    data = make_preset(Project(REPO), *path)
    preset = parse_preset(data, "prompt")  # raises PresetError on any broken rule
    assert preset.name == data["name"]


def _all_compatible() -> set[tuple[str | None, str, str | None, str | None]]:
    """Every combination the tables allow, found by brute force over the tables."""
    out = set()
    for cuda in [*compat.CUDA_CUDNN, None]:
        for python in {p for ps in compat.OS_PYTHONS.values() for p in ps}:
            for torch in [*compat.TORCH, None]:
                for trt in [*{v for vs in compat.TENSORRT_VERSIONS.values() for v in vs}, None]:
                    try:
                        parse_preset(make_preset(Project(REPO), cuda, python, torch, trt), "x")
                    except (PresetError, KeyError):
                        continue
                    out.add((cuda, python, torch, trt))
    return out


def test_every_compatible_combination_is_offered() -> None:
    """The prompt reaches exactly the combinations the compatibility rules accept."""
    offered = {
        (c, p, t, r)
        for c in options_cuda()
        for p in options_python(c)
        for t in options_torch(c, p)
        for r in options_tensorrt(c)
    }
    assert offered == _all_compatible()
    assert ("11.8", "3.10", "2.1.2", "8.6.1.6") in offered
    assert not any(r and r.startswith("8.") and c != "11.8" for c, _, _, r in offered)


@pytest.mark.parametrize(
    ("preset", "non_interactive", "tty", "expected"),
    [
        ("x", False, True, False),
        ("x", True, True, False),
        ("x", False, False, False),
        ("", True, True, False),
        ("", False, False, False),
        ("", True, False, False),
        ("", False, True, True),
    ],
)
def test_needs_prompt_table(preset: str, non_interactive: bool, tty: bool, expected: bool) -> None:
    """Prompt only without --preset, without --non-interactive, on a terminal."""
    assert needs_prompt(preset, non_interactive, tty) is expected


def test_build_without_preset_and_without_terminal_fails_listing_what_is_missing(tmp_path: Path) -> None:
    """`inv build` with stdin not a terminal behaves as --non-interactive: exit 2, one line naming --preset."""
    proj = clone_project(tmp_path / "p")
    for extra in ([], ["--non-interactive"]):
        proc = inv(proj, "build", *extra, stdin="")
        assert proc.returncode == 2, proc.stderr
        assert "--preset" in proc.stderr and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert "non-interactive" in missing_message("", True, True)


def test_eof_is_a_clear_error() -> None:
    """Input that ends before the questions do is an InputError naming the question."""
    with pytest.raises(InputError, match="Use a preset"):
        interactive_choice(Project(REPO), io.StringIO(""), io.StringIO())


def test_invalid_answer_is_asked_again(tmp_path: Path) -> None:
    """An out-of-range answer re-asks instead of failing."""
    out = io.StringIO()
    choice = interactive_choice(Project(REPO), io.StringIO("9\n1\n1\n2\n"), out)
    assert choice == Choice("debian12-cpu-py3.11", "dev")
    assert "'9' is not one of 1-2" in out.getvalue()


def _drive(cmd: list[str], answers: list[str], cwd: Path) -> str:
    """Run ``cmd`` on a pty, answering each 'choice [...]:' prompt in turn; return the transcript."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.chdir(cwd)
        os.execv(cmd[0], cmd)
    out = b""
    pending = list(answers)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        r, _, _ = select.select([fd], [], [], 1.0)
        if not r:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
        if pending and out.rstrip().endswith(b"]:"):
            os.write(fd, (pending.pop(0) + "\n").encode())
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, out.decode(errors="replace")
    return out.decode(errors="replace")


def test_pty_scenario_through_a_preset(tmp_path: Path) -> None:
    """On a terminal: preset → which preset → build type, in that order."""
    proj = clone_project(tmp_path / "p")
    text = _drive([sys.executable, "-m", "airlock.prompt", "--project", str(proj)], ["1", "1", "1"], proj)
    order = [text.index(q) for q in ("Use a preset or choose manually?", "Which preset?", "Build type?")]
    assert order == sorted(order)
    result = json.loads(text.strip().splitlines()[-1])
    assert result == {"preset": "debian12-cpu-py3.11", "target": "runtime", "created": None}


@pytest.mark.network
def test_pty_scenario_manual_writes_a_preset_that_locks(tmp_path: Path) -> None:
    """Manual path on a terminal: CUDA → Python → torch → TensorRT → build type; the new preset file is valid and locks."""
    proj = clone_project(tmp_path / "p")
    # manual; CUDA 12.1; Python 3.11; torch 2.3.1; TensorRT 10.0.1.6; dev
    cuda_i = options_cuda().index("12.1") + 1
    py_i = options_python("12.1").index("3.11") + 1
    torch_i = options_torch("12.1", "3.11").index("2.3.1") + 1
    trt_i = options_tensorrt("12.1").index("10.0.1.6") + 1
    text = _drive(
        [sys.executable, "-m", "airlock.prompt", "--project", str(proj)],
        ["2", str(cuda_i), str(py_i), str(torch_i), str(trt_i), "2"],
        proj,
    )
    qs = ("Use a preset", "CUDA base image?", "Python version?", "PyTorch version?", "TensorRT version?", "Build type?")
    order = [text.index(q) for q in qs]
    assert order == sorted(order)
    result = json.loads(text.strip().splitlines()[-1])
    name = "ubuntu22.04-cuda12.1-py3.11-torch2.3.1-trt10.0.1.6"
    assert result == {"preset": name, "target": "dev", "created": str(proj / "presets" / f"{name}.json")}
    preset = load_preset_file(proj / "presets" / f"{name}.json")
    assert preset.torch is not None and preset.torch.torch == "2.3.1" and preset.tensorrt is not None
    # its Python part: the system part pins nvidia/cuda bases, which no registry here serves
    proc = inv(proj, "lock", "--preset", name, "--only", "python")
    assert proc.returncode == 0, proc.stderr
    lock = (proj / "locks" / f"{name}.txt").read_text()
    assert "torch==2.3.1" in lock and "tensorrt-cu12-bindings==10.0.1" in lock and "--hash=sha256:" in lock
