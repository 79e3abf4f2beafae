"""The interactive build driver (docs/build-guide.md, section 5): asks, in order,

1. use a preset or choose manually
2. CUDA base (or none: CPU)
3. Python version
4. PyTorch version (or none)
5. TensorRT version (or none)
6. build type: runtime or dev

Only choices compatible with the earlier answers are offered, from the same tables
that validate presets (:mod:`airlock.compat`). A manual selection becomes a new
preset file (name derived from the choices), validated before it is written, shown,
and then locked, synced and built like any preset by ``inv build``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from packaging.version import Version

from airlock import compat
from airlock.errors import InputError, handle
from airlock.fsutil import atomic_write_text
from airlock.names import is_valid_name
from airlock.presets import dump_preset, load_preset_file, parse_preset, preset_names
from airlock.project import Project

BUILD_TYPES = ("runtime", "dev")
#: CUDA version -> the full version in NVIDIA's image tags
CUDA_IMAGE_VERSION = {"11.8": "11.8.0", "12.1": "12.1.1", "12.4": "12.4.1"}
#: TensorRT version -> (.debs for the runtime, PyPI wheels for the Python bindings)
TENSORRT_PACKAGES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "8.6.1.6": (("libnvinfer8=8.6.1.6-1+cuda11.8", "libnvinfer-plugin8=8.6.1.6-1+cuda11.8", "libnvonnxparsers8=8.6.1.6-1+cuda11.8"), ()),
    "10.0.1.6": (("libnvinfer10=10.0.1.6-1+cuda12.4", "libnvinfer-plugin10=10.0.1.6-1+cuda12.4", "libnvonnxparsers10=10.0.1.6-1+cuda12.4"), ("tensorrt-cu12-bindings==10.0.1",)),
    "10.1.0.27": (("libnvinfer10=10.1.0.27-1+cuda12.4", "libnvinfer-plugin10=10.1.0.27-1+cuda12.4", "libnvonnxparsers10=10.1.0.27-1+cuda12.4"), ("tensorrt-cu12-bindings==10.1.0",)),
}


@dataclass(frozen=True)
class Choice:
    preset: str
    target: str
    created: Path | None = None


# ------------------------------------------------------------ offered choices


def options_cuda() -> list[str | None]:
    """The CUDA versions NVIDIA's images serve (the prompt makes image-based presets); no CUDA last."""
    return [*(c for c in compat.CUDA_CUDNN if c in CUDA_IMAGE_VERSION), None]


def os_for(cuda: str | None) -> str:
    return compat.CUDA_OS if cuda else "debian12"


def options_python(cuda: str | None) -> list[str]:
    return list(compat.OS_PYTHONS[os_for(cuda)])


def options_torch(cuda: str | None, python: str) -> list[str | None]:
    tag = compat.cuda_tag(cuda)
    out: list[str | None] = []
    for version, rel in compat.TORCH.items():
        # cuDNN: the one torch's wheels bring must be the one the CUDA images ship (one cuDNN per image)
        cudnn_ok = cuda is None or compat.TORCH_CUDNN.get(version) in compat.CUDA_CUDNN.get(cuda, ())
        if Version(python) in rel.python and (tag == "cpu" or tag in rel.cuda_tags) and cudnn_ok:
            out.append(version)
    return [*out, None]


def options_tensorrt(cuda: str | None) -> list[str | None]:
    if cuda is None:
        return [None]
    out: list[str | None] = []
    known = sorted({v for vs in compat.TENSORRT_VERSIONS.values() for v in vs}, key=Version)
    for v in known:
        spec = compat.TENSORRT_CUDA.get(Version(v).major)
        if spec is not None and Version(cuda) in spec and v in TENSORRT_PACKAGES:
            out.append(v)
    return [*out, None]


def derive_name(cuda: str | None, python: str, torch: str | None, tensorrt: str | None) -> str:
    parts = [os_for(cuda), f"cuda{cuda}" if cuda else "cpu", f"py{python}"]
    if torch:
        parts.append(f"torch{torch}")
    if tensorrt:
        parts.append(f"trt{tensorrt}")
    name = "-".join(parts)
    assert is_valid_name(name), name
    return name


def _template(project: Project, cuda: str | None) -> dict:  # type: ignore[type-arg]
    """The closest shipped preset's data, for the sections the prompt does not ask."""
    best = None
    for name in preset_names(project):
        data = json.loads(project.preset_path(name).read_text())
        score = (data.get("os") == os_for(cuda), (data.get("cuda") or {}).get("version") == cuda)
        if best is None or score > best[0]:
            best = (score, data)
    if best is None:
        raise InputError(f"{project.presets_dir}: no preset to take FFmpeg/OpenCV/apt/app settings from")
    return best[1]


def make_preset(project: Project, cuda: str | None, python: str, torch: str | None, tensorrt: str | None) -> dict:  # type: ignore[type-arg]
    """The preset data for a manual selection (validated by the caller)."""
    data = _template(project, cuda)
    name = derive_name(cuda, python, torch, tensorrt)
    data["name"] = name
    data["description"] = f"Chosen interactively: CUDA {cuda or 'none'}, Python {python}, torch {torch or 'none'}, TensorRT {tensorrt or 'none'}."
    data["os"] = os_for(cuda)
    if cuda:
        full = CUDA_IMAGE_VERSION[cuda]
        cudnn = compat.CUDA_CUDNN[cuda][0]
        data["base"] = {
            "builder": {"image": f"nvidia/cuda:{full}-cudnn{cudnn}-devel-ubuntu22.04"},
            "runtime": {"image": f"nvidia/cuda:{full}-cudnn{cudnn}-runtime-ubuntu22.04"},
        }
        data["cuda"] = {"version": cuda, "cudnn": cudnn}
    else:
        data["base"] = {s: {"bootstrap": {"suite": "bookworm", "mirror": "http://deb.debian.org/debian", "variant": "minbase"}} for s in ("builder", "runtime")}
        data["cuda"] = None
        if data.get("opencv"):
            data["opencv"]["cuda"] = False
    data["python"] = {"version": python}
    apt = data.setdefault("apt", {"build": [], "runtime": []})
    apt["build"] = [f"python{python}-dev" if p.startswith("python3.") and p.endswith("-dev") else p for p in apt.get("build", [])]
    if torch:
        rel = compat.TORCH[torch]
        tag = compat.cuda_tag(cuda)
        data["torch"] = {"torch": torch, "torchvision": rel.torchvision, "torchaudio": rel.torchaudio, "cuda_tag": tag, "index_url": compat.torch_index_for(torch, tag)[0]}
    else:
        data["torch"] = None
    if tensorrt:
        debs, wheels = TENSORRT_PACKAGES[tensorrt]
        data["tensorrt"] = {"version": tensorrt, "source": "deb", "debs": list(debs), "wheels": list(wheels)}
    else:
        data["tensorrt"] = None
    return data


# -------------------------------------------------------------------- asking


def needs_prompt(preset_flag: str, non_interactive: bool, stdin_isatty: bool) -> bool:
    """Prompt only when no preset was given, prompting is allowed, and stdin is a terminal.

    ======  ===============  ===========  ======
    preset  non_interactive  stdin a tty  prompt
    ======  ===============  ===========  ======
    given   any              any          no
    none    yes              any          no (fail: missing --preset)
    none    no               no           no (fail: missing --preset)
    none    no               yes          yes
    ======  ===============  ===========  ======
    """
    return not preset_flag and not non_interactive and stdin_isatty


def missing_message(preset_flag: str, non_interactive: bool, stdin_isatty: bool) -> str:
    why = "--non-interactive was given" if non_interactive else "standard input is not a terminal"
    return f"missing: --preset (see: inv presets), and --target runtime|dev (default runtime); not prompting because {why}"


class _Asker:
    def __init__(self, stdin: TextIO, stdout: TextIO) -> None:
        self.stdin, self.stdout = stdin, stdout

    def ask(self, question: str, options: list[tuple[str, object]], default: int = 1) -> object:
        while True:
            self.stdout.write(f"\n{question}\n")
            for i, (label, _) in enumerate(options, 1):
                self.stdout.write(f"  {i}) {label}\n")
            self.stdout.write(f"choice [{default}]: ")
            self.stdout.flush()
            line = self.stdin.readline()
            if not line:
                raise InputError(f"no answer on standard input for: {question}")
            answer = line.strip()
            if not answer:
                return options[default - 1][1]
            if answer.isdigit() and 1 <= int(answer) <= len(options):
                return options[int(answer) - 1][1]
            self.stdout.write(f"'{answer}' is not one of 1-{len(options)}\n")


def interactive_choice(project: Project, stdin: TextIO, stdout: TextIO) -> Choice:
    a = _Asker(stdin, stdout)
    mode = a.ask("Use a preset or choose manually?", [("use a preset", "preset"), ("choose manually", "manual")])
    if mode == "preset":
        names = preset_names(project)
        if not names:
            raise InputError(f"{project.presets_dir}: no presets")
        name = str(a.ask("Which preset?", [(n, n) for n in names]))
        target = str(a.ask("Build type?", [(t, t) for t in BUILD_TYPES]))
        return Choice(name, target)

    cuda = a.ask("CUDA base image?", [(f"CUDA {c} (cuDNN {compat.CUDA_CUDNN[c][0]}, Ubuntu 22.04)" if c else "none: CPU (Debian 12)", c) for c in options_cuda()])
    python = str(a.ask("Python version?", [(p, p) for p in options_python(cuda)]))  # type: ignore[arg-type]
    torch = a.ask("PyTorch version?", [(f"torch {t}" if t else "none", t) for t in options_torch(cuda, python)])  # type: ignore[arg-type]
    trt = a.ask("TensorRT version?", [(f"TensorRT {t}" if t else "none", t) for t in options_tensorrt(cuda)])  # type: ignore[arg-type]
    target = str(a.ask("Build type?", [(t, t) for t in BUILD_TYPES]))
    data = make_preset(project, cuda, python, torch, trt)  # type: ignore[arg-type]
    path = project.preset_path(data["name"])
    preset = parse_preset(data, path)  # validated before anything is written
    text = dump_preset(preset)
    stdout.write(f"\npreset {preset.name}:\n{text}")
    if path.exists():
        if load_preset_file(path) == preset:
            stdout.write(f"{path} exists with the same content; using it\n")
            return Choice(preset.name, target)
        keep = a.ask(f"{path} exists with other content. Overwrite it?", [("no, use the existing file", True), ("yes, overwrite", False)])
        if keep:
            return Choice(preset.name, target)
    atomic_write_text(path, text)
    stdout.write(f"wrote {path}\n")
    return Choice(preset.name, target, path)


def main(argv: list[str] | None = None) -> int:
    """``python -m airlock.prompt [--project DIR]``: run the prompt, print the choice as JSON."""
    ap = argparse.ArgumentParser(prog="python -m airlock.prompt")
    ap.add_argument("--project", default=".")
    args = ap.parse_args(argv)
    try:
        choice = interactive_choice(Project.here(args.project), sys.stdin, sys.stdout)
    except (Exception, KeyboardInterrupt) as exc:  # the same boundary as the tasks
        return handle(exc)
    print(json.dumps({"preset": choice.preset, "target": choice.target, "created": str(choice.created) if choice.created else None}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
