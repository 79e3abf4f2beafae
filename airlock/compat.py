"""Compatibility rules as data, checked when a preset loads.

Every rule names the preset field it judges and says why, so an error reads
``presets/x.json: tensorrt.version: TensorRT 8.x needs CUDA 11.8 (preset has 12.1)``.
The same tables drive the interactive prompt, which only offers choices these
rules accept.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import SpecifierSet
from packaging.version import Version

if TYPE_CHECKING:
    from airlock.presets import Preset

PYPI_SIMPLE = "https://pypi.org/simple"
TORCH_INDEX = "https://download.pytorch.org/whl/{tag}"

#: CUDA versions a preset may name, with the cuDNN majors NVIDIA ships images for.
CUDA_CUDNN: dict[str, tuple[str, ...]] = {
    "11.5": ("8",),
    "11.8": ("8",),
    "12.1": ("8",),
    "12.4": ("9",),
}

#: CUDA version -> the oldest driver that runs code built with that toolkit, PTX JIT included
#: (NVIDIA's CUDA toolkit release notes, "CUDA Toolkit and Corresponding Driver Versions",
#: Linux x86_64 GA). Minor-version compatibility lets older drivers of the same major run
#: some binaries, but not PTX JIT, which the compiled parts rely on for newer GPUs; the image
#: records this stricter minimum as its ``io.airlock.cuda.min-driver`` label.
CUDA_MIN_DRIVER: dict[str, str] = {
    "11.5": "495.29.05",
    "11.7": "515.43.04",
    "11.8": "520.61.05",
    "12.1": "530.30.02",
    "12.4": "550.54.14",
}


#: CUDA version -> (oldest, newest) GPU architecture (compute capability) its nvcc compiles for.
#: 11.8 added Ada (8.9) and Hopper (9.0); 12.0 dropped Kepler (3.x).
CUDA_ARCHS: dict[str, tuple[float, float]] = {"11.5": (3.5, 8.6), "11.8": (3.5, 9.0), "12.1": (5.0, 9.0), "12.4": (5.0, 9.0)}

#: OS -> the CUDA toolkit its own archive ships (``nvidia-cuda-toolkit``, Ubuntu multiverse):
#: what a bootstrapped builder (no ``nvidia/cuda`` devel image) compiles CUDA code with.
OS_CUDA_TOOLKIT: dict[str, str] = {"ubuntu22.04": "11.5"}
#: The .deb that brings that toolkit's ``nvcc``.
CUDA_TOOLKIT_DEB = "nvidia-cuda-toolkit"
#: nvcc releases that fail on GCC 11's ``<functional>`` ("parameter packs not expanded"),
#: Ubuntu 22.04's default compiler: they need an older host compiler (``-DCUDA_HOST_COMPILER``).
NVCC_NEEDS_OLDER_GCC: frozenset[str] = frozenset({"11.5", "11.6"})

#: PyPI wheels that install a ``cv2`` of their own: with OpenCV's bindings built from source,
#: one would shadow the other.
OPENCV_WHEELS: frozenset[str] = frozenset({
    "opencv-python", "opencv-python-headless", "opencv-contrib-python", "opencv-contrib-python-headless",
})
#: The CUDA libraries OpenCV's CUDA modules link (cudart, cuBLAS, cuFFT, NPP), as wheel name
#: stems: with ``cuda.runtime: "wheels"`` the lock must hold each, for the toolkit's major.
OPENCV_CUDA_WHEELS: tuple[str, ...] = ("nvidia-cuda-runtime", "nvidia-cublas", "nvidia-cufft", "nvidia-npp")

#: torch release -> the cuDNN major its CUDA wheels bring (nvidia-cudnn-cu11/cu12): 8.x up to 2.3, 9.x from 2.4.
TORCH_CUDNN: dict[str, str] = {"2.0.1": "8", "2.1.0": "8", "2.1.2": "8", "2.2.2": "8", "2.3.1": "8", "2.4.1": "9", "2.5.1": "9"}


def cuda_archs(flags: tuple[str, ...]) -> dict[str, list[str]]:
    """``{"CUDA_ARCH_BIN": ["7.5", "8.6"], "CUDA_ARCH_PTX": [...]}`` from OpenCV CMake flags (``;``, ``,`` or space separated)."""
    out: dict[str, list[str]] = {}
    for flag in flags:
        for name in ("CUDA_ARCH_BIN", "CUDA_ARCH_PTX"):
            prefix = f"-D{name}="
            if flag.startswith(prefix):
                out[name] = [a for a in re.split(r"[;, ]+", flag[len(prefix):]) if a]
    return out


def min_driver(cuda: str | None) -> str:
    """The minimum host driver for one CUDA version (``""`` for none or an unknown one)."""
    return CUDA_MIN_DRIVER.get(cuda or "", "")


def tag_cuda(tag: str) -> str | None:
    """``"cu117"`` -> ``"11.7"``, ``"cu121"`` -> ``"12.1"``; ``"cpu"`` -> None."""
    m = re.fullmatch(r"cu(\d+)(\d)", tag)
    return f"{m.group(1)}.{m.group(2)}" if m else None


def preset_cudas(preset: "Preset") -> tuple[str, ...]:
    """Every CUDA version whose code runs in the preset's image: its toolkit, and torch's wheels' CUDA."""
    if preset.cuda is None:
        return ()
    out = [preset.cuda.version]
    if preset.torch is not None and (t := tag_cuda(preset.torch.cuda_tag)) is not None:
        out.append(t)
    return tuple(dict.fromkeys(out))


def preset_min_driver(preset: "Preset") -> str:
    """The image's ``io.airlock.cuda.min-driver``: the strictest minimum of :func:`preset_cudas` (``""`` for CPU)."""
    drivers = [d for d in (min_driver(c) for c in preset_cudas(preset)) if d]
    return max(drivers, key=lambda d: tuple(int(x) for x in d.split("."))) if drivers else ""


def lock_violations(preset: "Preset", names: "set[str]") -> list[Violation]:
    """Rules on the locked set (canonical project names), which the preset alone cannot decide."""
    out: list[Violation] = []
    oc = preset.opencv
    if oc is not None and oc.python:
        shadow = sorted(names & OPENCV_WHEELS)
        if shadow:
            out.append(Violation(
                "opencv.python",
                f"the lock installs {', '.join(shadow)}, a second cv2 that would shadow the one built from source; "
                "drop it from the requirements (or whatever requires it), or set opencv.python to false",
            ))
    if oc is not None and oc.python and "numpy" not in names:
        out.append(Violation("opencv.python", "OpenCV's Python bindings compile against numpy, which the lock lacks; add numpy to the requirements"))
    if preset.cuda is not None and preset.cuda.runtime == "wheels" and oc is not None and oc.cuda:
        major = preset.cuda.version.split(".")[0]
        missing = [f"{stem}-cu{major}" for stem in OPENCV_CUDA_WHEELS if f"{stem}-cu{major}" not in names]
        if missing:
            out.append(Violation(
                "cuda.runtime",
                f"OpenCV's CUDA modules link CUDA {major} libraries that the runtime takes from wheels, and the lock lacks "
                f"{', '.join(missing)}; add them to the requirements",
            ))
    return out


#: TensorRT major -> CUDA versions it is built for (NVIDIA's TensorRT support matrix).
TENSORRT_CUDA: dict[int, SpecifierSet] = {
    8: SpecifierSet("==11.8"),
    10: SpecifierSet(">=12.0,<13"),
}
#: The same for NVIDIA's TensorRT .tar releases, one per CUDA major: the 8.6 tar (named
#: ``...cuda-11.8.tar.gz``) supports CUDA 11.0 to 11.8 (NVIDIA's TensorRT 8.6 support matrix).
TENSORRT_TAR_CUDA: dict[int, SpecifierSet] = {
    8: SpecifierSet(">=11.0,<12"),
    10: SpecifierSet(">=12.0,<13"),
}
TENSORRT_VERSIONS: dict[str, tuple[str, ...]] = {
    # CUDA -> TensorRT versions offered (full 4-part versions as NVIDIA numbers them)
    "11.8": ("8.6.1.6",),
    "12.1": ("10.0.1.6",),
    "12.4": ("10.0.1.6", "10.1.0.27"),
}


@dataclass(frozen=True)
class TorchRelease:
    torchvision: str
    torchaudio: str
    python: SpecifierSet
    cuda_tags: tuple[str, ...]  # builds published on download.pytorch.org (besides cpu)
    pypi_tag: str  # what the plain PyPI linux x86_64 wheel is built with


#: torch release -> matching torchvision/torchaudio, Pythons and CUDA builds.
TORCH: dict[str, TorchRelease] = {
    "2.0.1": TorchRelease("0.15.2", "2.0.2", SpecifierSet(">=3.8,<3.12"), ("cu117", "cu118"), "cu117"),
    "2.1.0": TorchRelease("0.16.0", "2.1.0", SpecifierSet(">=3.8,<3.12"), ("cu118", "cu121"), "cu121"),
    "2.1.2": TorchRelease("0.16.2", "2.1.2", SpecifierSet(">=3.8,<3.12"), ("cu118", "cu121"), "cu121"),
    "2.2.2": TorchRelease("0.17.2", "2.2.2", SpecifierSet(">=3.8,<3.13"), ("cu118", "cu121"), "cu121"),
    "2.3.1": TorchRelease("0.18.1", "2.3.1", SpecifierSet(">=3.8,<3.13"), ("cu118", "cu121"), "cu121"),
    "2.4.1": TorchRelease("0.19.1", "2.4.1", SpecifierSet(">=3.8,<3.13"), ("cu118", "cu121", "cu124"), "cu121"),
    "2.5.1": TorchRelease("0.20.1", "2.5.1", SpecifierSet(">=3.9,<3.14"), ("cu118", "cu121", "cu124"), "cu124"),
}

#: OS -> Python versions its own archive ships as .debs.
OS_PYTHONS: dict[str, tuple[str, ...]] = {
    "ubuntu22.04": ("3.10", "3.11"),
    "debian12": ("3.11",),
}

#: OS -> the suite debootstrap uses to make it locally.
OS_SUITES: dict[str, str] = {"ubuntu22.04": "jammy", "debian12": "bookworm"}

#: OSes whose archive keys a Debian host lacks: a bootstrapped base must pin a keyring.
#: Ubuntu's comes from its ``ubuntu-keyring`` package in ``pool/``, which the archive keeps for
#: the life of the release (fetched 2026-11-26: 20,856 bytes; its
#: ``usr/share/keyrings/ubuntu-archive-keyring.gpg`` holds the 2012 and 2018 archive keys).
OS_FOREIGN_KEYS: dict[str, dict[str, str]] = {
    "ubuntu22.04": {
        "url": "http://archive.ubuntu.com/ubuntu/pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb",
        "sha256": "0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f",
        "member": "usr/share/keyrings/ubuntu-archive-keyring.gpg",
    },
}

#: Keyring URLs that upstream has withdrawn (URL path suffix -> since when): a preset naming
#: one fails at load with the pin to use instead, not at sync with a 404.
DEAD_KEYRING_URLS: dict[str, str] = {
    "/ubuntu/project/ubuntu-archive-keyring.gpg": "answers HTTP 404 since 2026-11",
}


def keyring_pin(os_name: str) -> str:
    """The JSON a preset puts at ``base.<stage>.bootstrap.keyring`` for ``os_name``."""
    return json.dumps(OS_FOREIGN_KEYS[os_name])


#: (OS, Python) -> the (suite, component) whose archive has that Python's .debs when it is
#: not the release suite's main (read off jammy's Packages indices: python3.11 is only in
#: jammy-updates/universe).
OS_PYTHON_ARCHIVE: dict[tuple[str, str], tuple[str, str]] = {("ubuntu22.04", "3.11"): ("jammy-updates", "universe")}

#: CUDA presets stay on Ubuntu 22.04, a project rule (docs/build-guide.md, section 3, the compatibility rules).
CUDA_OS = "ubuntu22.04"


def cuda_tag(cuda: str | None) -> str:
    """``"11.8"`` -> ``"cu118"``; no CUDA -> ``"cpu"``."""
    return "cpu" if cuda is None else "cu" + cuda.replace(".", "")


def torch_index_for(torch_version: str, tag: str) -> tuple[str, ...]:
    """The index URLs that serve torch ``torch_version`` built for ``tag``."""
    rel = TORCH.get(torch_version)
    urls = [TORCH_INDEX.format(tag=tag)]
    if rel is not None and rel.pypi_tag == tag:
        urls.insert(0, PYPI_SIMPLE)
    return tuple(urls)


@dataclass(frozen=True)
class Violation:
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def check(preset: "Preset", *, os_pythons: Mapping[str, tuple[str, ...]] = OS_PYTHONS) -> list[Violation]:
    """Every rule the preset breaks, in a stable order (empty when compatible).

    ``os_pythons`` is the table of Pythons each OS ships (:data:`OS_PYTHONS`); a test gives
    another to reach the rules behind it.
    """
    out: list[Violation] = []
    cuda = preset.cuda.version if preset.cuda else None
    py = preset.python.version

    # Python comes from the OS's own .debs.
    pythons = os_pythons.get(preset.os, ())
    if py not in pythons:
        out.append(Violation("python.version", f"{preset.os} ships Python {', '.join(pythons) or 'none'} as .debs, not {py}"))

    if preset.cuda is not None:
        if preset.os != CUDA_OS:
            out.append(Violation("os", f"CUDA presets stay on {CUDA_OS}, not {preset.os}"))
        if cuda not in CUDA_CUDNN or cuda not in CUDA_MIN_DRIVER:
            out.append(Violation("cuda.version", f"CUDA {cuda} is not one of {', '.join(CUDA_CUDNN)}"))
        elif preset.cuda.cudnn not in CUDA_CUDNN[cuda]:
            out.append(Violation("cuda.cudnn", f"CUDA {cuda} images ship cuDNN {', '.join(CUDA_CUDNN[cuda])}, not {preset.cuda.cudnn}"))
        wheels = preset.cuda.runtime == "wheels"
        for stage in ("builder", "runtime"):
            image = getattr(preset.base, stage).image
            if image is None:
                continue
            if stage == "runtime" and wheels:
                if image.split(":", 1)[0].endswith("nvidia/cuda"):
                    out.append(Violation(
                        "base.runtime.image",
                        f"{image} carries CUDA, and cuda.runtime 'wheels' takes CUDA from the lock's nvidia-* wheels: "
                        "a runtime would hold it twice; use a base without CUDA",
                    ))
            elif not _image_matches_cuda(image, cuda or "", preset.os):
                out.append(Violation(f"base.{stage}.image", f"{image} does not name CUDA {cuda} on {preset.os}"))
        if preset.base.builder.image is None and preset.opencv is not None and preset.opencv.cuda:
            have = OS_CUDA_TOOLKIT.get(preset.os)
            if have != cuda:
                out.append(Violation(
                    "cuda.version",
                    f"a bootstrapped builder compiles with {preset.os}'s own CUDA toolkit, "
                    + (f"which is {have}, not {cuda}" if have else "and it has none"),
                ))
            elif CUDA_TOOLKIT_DEB not in preset.apt.build:
                out.append(Violation("apt.build", f"OpenCV with CUDA on a bootstrapped builder needs {CUDA_TOOLKIT_DEB} (nvcc) in apt.build"))
        if preset.opencv is not None and preset.opencv.cuda and cuda in NVCC_NEEDS_OLDER_GCC:
            host = next((f.split("=", 1)[1] for f in preset.opencv.cmake_flags if f.startswith("-DCUDA_HOST_COMPILER=")), None)
            if host is None:
                out.append(Violation(
                    "opencv.cmake_flags",
                    f"CUDA {cuda}'s nvcc fails with {preset.os}'s default g++-11; add -DCUDA_HOST_COMPILER=/usr/bin/g++-10 "
                    "(and g++-10 to apt.build)",
                ))
            elif (m := re.fullmatch(r"/usr/bin/(g\+\+-\d+)", host)) and m.group(1) not in preset.apt.build:
                out.append(Violation("apt.build", f"-DCUDA_HOST_COMPILER={host} needs {m.group(1)} in apt.build"))
    elif preset.opencv is not None and preset.opencv.cuda:
        out.append(Violation("opencv.cuda", "OpenCV with CUDA needs a CUDA preset (cuda is null)"))
    if preset.opencv is not None and preset.opencv.python:
        shadow = [r for r in preset.requirements.packages if _req_name(r) in OPENCV_WHEELS]
        if shadow:
            out.append(Violation(
                "requirements.packages",
                f"{', '.join(shadow)} installs a second cv2 that would shadow the one built from source (opencv.python); "
                "drop it, or set opencv.python to false",
            ))
        build_list = next((f.split("=", 1)[1] for f in preset.opencv.cmake_flags if f.startswith("-DBUILD_LIST=")), None)
        if build_list is not None and "python3" not in re.split(r"[;, ]+", build_list):
            out.append(Violation("opencv.cmake_flags", "-DBUILD_LIST lacks python3, so opencv.python would build no cv2; add python3 or set opencv.python to false"))
    if preset.opencv is not None and preset.opencv.cuda and preset.opencv.contrib is None:
        out.append(Violation("opencv.contrib", "OpenCV with CUDA needs opencv_contrib's archive (WITH_CUDA requires its cudev module)"))
    if preset.opencv is not None and preset.opencv.cuda and cuda in CUDA_ARCHS:
        lo, hi = CUDA_ARCHS[cuda]
        for name, archs in cuda_archs(preset.opencv.cmake_flags).items():
            bad = [a for a in archs if not re.fullmatch(r"\d+\.\d", a) or not lo <= float(a) <= hi]
            if bad:
                out.append(Violation(
                    "opencv.cmake_flags",
                    f"{name} {';'.join(bad)}: CUDA {cuda}'s nvcc compiles for architectures {lo} to {hi}; for a newer GPU give "
                    f"-DCUDA_ARCH_PTX={hi} (the driver compiles that PTX for it)",
                ))

    for stage in ("builder", "runtime"):
        out += _bootstrap_violations(preset, stage)

    # All archives share sources/: two URLs ending in the same file name would overwrite each other.
    seen: dict[str, str] = {}
    for field, src in preset.named_sources:
        name = src.filename
        if name in seen:
            out.append(Violation(field, f"ends in the same file name as {seen[name]} ({name}); both are kept in sources/, so the URLs must differ in their last part"))
        seen.setdefault(name, field)

    if preset.tensorrt is not None:
        trt = Version(preset.tensorrt.version)
        if cuda is None:
            out.append(Violation("tensorrt", "TensorRT needs CUDA (cuda is null)"))
        else:
            tar = preset.tensorrt.source == "tar"
            spec = (TENSORRT_TAR_CUDA if tar else TENSORRT_CUDA).get(trt.major)
            if spec is None:
                out.append(Violation("tensorrt.version", f"TensorRT {trt.major}.x is not supported (known: {', '.join(f'{m}.x' for m in TENSORRT_CUDA)})"))
            else:
                # With CUDA from torch's wheels, TensorRT runs on those libraries: their CUDA must fit too.
                cudas = preset_cudas(preset) if preset.cuda is not None and preset.cuda.runtime == "wheels" else (cuda,)
                bad = [c for c in cudas if Version(c) not in spec]
                if bad:
                    need = ("CUDA 11.x" if tar else "CUDA 11.8") if trt.major == 8 else "CUDA 12.x"
                    out.append(Violation("tensorrt.version", f"TensorRT {trt.major}.x{' (tar)' if tar else ''} needs {need} (preset has CUDA {', '.join(bad)})"))

    if preset.torch is not None:
        t = preset.torch
        rel = TORCH.get(t.torch)
        tag = cuda_tag(cuda)
        if rel is None:
            out.append(Violation("torch.torch", f"torch {t.torch} is not a known release (known: {', '.join(TORCH)})"))
        else:
            if t.torchvision != rel.torchvision:
                out.append(Violation("torch.torchvision", f"torch {t.torch} pairs with torchvision {rel.torchvision}, not {t.torchvision}"))
            if t.torchaudio != rel.torchaudio:
                out.append(Violation("torch.torchaudio", f"torch {t.torch} pairs with torchaudio {rel.torchaudio}, not {t.torchaudio}"))
            if Version(py) not in rel.python:
                out.append(Violation("python.version", f"torch {t.torch} supports Python {rel.python}, not {py}"))
            built = t.cuda_tag if preset.cuda is not None and preset.cuda.runtime == "wheels" else tag
            if built != "cpu" and built not in rel.cuda_tags:
                out.append(Violation("torch.cuda_tag", f"torch {t.torch} has no {built} build (builds: {', '.join(rel.cuda_tags)})"))
            want = TORCH_CUDNN.get(t.torch)
            if preset.cuda is not None and want is not None and preset.cuda.cudnn != want:
                out.append(Violation(
                    "cuda.cudnn",
                    f"torch {t.torch}'s CUDA wheels bring cuDNN {want} (nvidia-cudnn); the preset says cuDNN {preset.cuda.cudnn}: "
                    "an image carries one cuDNN, the one torch loads",
                ))
        torch_cuda = tag_cuda(t.cuda_tag)
        if preset.cuda is not None and preset.cuda.runtime == "wheels" and torch_cuda is not None and cuda is not None:
            # The compiled parts run on torch's CUDA libraries: same major, and at least the toolkit's minor.
            if torch_cuda.split(".")[0] != cuda.split(".")[0] or Version(torch_cuda) < Version(cuda):
                out.append(Violation(
                    "torch.cuda_tag",
                    f"torch's {t.cuda_tag} wheels bring CUDA {torch_cuda}; parts compiled by CUDA {cuda} need the same major "
                    f"and at least {cuda} (cuda.runtime 'wheels' holds one CUDA, torch's)",
                ))
            elif rel is not None and t.index_url.rstrip("/") not in torch_index_for(t.torch, t.cuda_tag):
                out.append(Violation("torch.index_url", f"{t.index_url} does not serve torch {t.torch} {t.cuda_tag} builds; use {torch_index_for(t.torch, t.cuda_tag)[0]}"))
        elif t.cuda_tag != tag:
            out.append(Violation("torch.cuda_tag", f"{t.cuda_tag} does not match the preset's CUDA ({tag})"))
        elif rel is not None and t.index_url.rstrip("/") not in torch_index_for(t.torch, tag):
            out.append(Violation("torch.index_url", f"{t.index_url} does not serve torch {t.torch} {tag} builds; use {torch_index_for(t.torch, tag)[0]}"))
    return out


def _bootstrap_violations(preset: "Preset", stage: str) -> list[Violation]:
    bs = getattr(preset.base, stage).bootstrap
    if bs is None:
        return []
    out: list[Violation] = []
    field = f"base.{stage}.bootstrap"
    want = OS_SUITES.get(preset.os)
    if want is not None and bs.suite != want:
        out.append(Violation(f"{field}.suite", f"{preset.os} is debootstrap suite {want}, not {bs.suite}"))
    for extra in bs.suites:
        if not extra.startswith(bs.suite + "-"):
            out.append(Violation(f"{field}.suites", f"{extra} is not a suite of {bs.suite} (e.g. {bs.suite}-updates)"))
    if bs.keyring is None and preset.os in OS_FOREIGN_KEYS:
        out.append(Violation(
            f"{field}.keyring",
            f"{preset.os}'s archive keys are not on a Debian host; pin them: {keyring_pin(preset.os)}",
        ))
    if bs.keyring is not None:
        dead = next((why for suffix, why in DEAD_KEYRING_URLS.items() if bs.keyring.url.endswith(suffix)), None)
        if dead is not None:
            instead = f"pin the keyring package instead: {keyring_pin(preset.os)}" if preset.os in OS_FOREIGN_KEYS else (
                "pin the archive's keyring package (url of the .deb, its sha256, member: the .gpg path inside)"
            )
            out.append(Violation(f"{field}.keyring.url", f"{bs.keyring.url} {dead}; {instead}"))
    where = OS_PYTHON_ARCHIVE.get((preset.os, preset.python.version))
    if where is not None:
        missing = [f'"{where[0]}" to suites'] if where[0] not in bs.suites else []
        missing += [f'"{where[1]}" to components'] if where[1] not in bs.components else []
        if missing:
            out.append(Violation(
                f"{field}.suites",
                f"Python {preset.python.version} .debs for {preset.os} are only in {where[0]}/{where[1]}; add {' and '.join(missing)}",
            ))
    return out


def _req_name(req: str) -> str:
    """The canonical project name of a requirement string (``"opencv-python-headless>=4"`` -> its name)."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    try:
        return canonicalize_name(Requirement(req).name)
    except InvalidRequirement:
        return ""


def _image_matches_cuda(image: str, cuda: str, os_name: str) -> bool:
    """``nvidia/cuda:11.8.0-cudnn8-devel-ubuntu22.04`` names CUDA 11.8 on ubuntu22.04."""
    tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
    return tag.startswith(cuda + ".") and tag.endswith(os_name)
