"""Preset schema (pydantic v2, frozen, unknown fields rejected) and loading.

A preset is ``presets/<name>.json``; its Python requirements may also sit beside
it in ``presets/<name>.in``. Loading validates the JSON, the name, and every
compatibility rule (:mod:`airlock.compat`) before anything is downloaded or written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from airlock import compat, settings
from airlock.errors import InputError, PresetError
from airlock.fsutil import read_input_text
from airlock.names import NAME_RULE, is_valid_name
from airlock.project import Project
from airlock.store.layout import PART as PART_SUFFIX

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
Url = Annotated[str, StringConstraints(pattern=r"^(https?|file)://\S+$")]
DebName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?$")]
Requirement = Annotated[str, StringConstraints(min_length=1, pattern=r"^[A-Za-z0-9][^\s#]*(\s*[;,<>=!~].*)?$")]
VersionStr = Annotated[str, StringConstraints(pattern=r"^\d+(\.\d+)*$")]

_ARCHIVE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+~-]*$")


def _check_archive_url(value: str) -> str:
    name = value.rstrip("/").rsplit("/", 1)[-1]
    if not _ARCHIVE_NAME.match(name) or name.endswith(".") or name.endswith(PART_SUFFIX):
        raise ValueError(
            f"the archive is stored under the URL's last part, and {name!r} is not a plain file name "
            "(letters, digits, . _ + ~ -; no query, no '..'); use the archive's own URL"
        )
    return value


#: An archive's URL: its last part names the file in ``sources/``, so it must be a plain file name.
ArchiveUrl = Annotated[str, StringConstraints(pattern=r"^(https?|file)://\S+$"), AfterValidator(_check_archive_url)]


def _check_name(value: str) -> str:
    if not is_valid_name(value):
        raise ValueError(f"{value!r} is not a valid preset name ({NAME_RULE})")
    return value


PresetName = Annotated[str, AfterValidator(_check_name)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


MemberPath = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_][A-Za-z0-9._+-]*(/[A-Za-z0-9_][A-Za-z0-9._+-]*)*$")]


class Keyring(_Model):
    """An archive's signing keys: debootstrap checks the suite's Release against them.

    ``url`` and ``sha256`` pin the file fetched. With ``member`` that file is a Debian
    package (the archive's own keyring package, which its ``pool/`` keeps for the life of
    the release) and ``member`` is the keyring's path inside it, taken out by airlock;
    without it the file is the keyring itself.
    """

    url: Url
    sha256: Sha256
    member: MemberPath | None = None

    @model_validator(mode="after")
    def _member_needs_deb(self) -> "Keyring":
        if self.member is not None and not self.url.endswith(".deb"):
            raise ValueError("'member' is a path inside a .deb: the url must name the keyring package (*.deb)")
        return self


class Bootstrap(_Model):
    """A base image airlock makes locally with debootstrap (no registry needed).

    ``suites`` are further suites of the same mirror that apt in the image sees
    (``jammy-updates``: Ubuntu 22.04's Python 3.11 lives only there). ``keyring``
    is needed for an archive whose keys the host lacks (Ubuntu's, on a Debian host).
    """

    suite: str = Field(pattern=r"^[a-z]+$")
    mirror: Url = "http://deb.debian.org/debian"
    variant: Literal["minbase", "buildd"] = "minbase"
    components: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z-]+$")], ...] = ("main",)
    suites: tuple[Annotated[str, StringConstraints(pattern=r"^[a-z]+-[a-z]+$")], ...] = ()
    keyring: Keyring | None = None

    def sources_list(self) -> str:
        """The image's /etc/apt/sources.list: the suite and every further suite, same mirror and components."""
        return "".join(f"deb {self.mirror} {s} {' '.join(self.components)}\n" for s in (self.suite, *self.suites))


class Base(_Model):
    """Exactly one of ``image`` (a registry reference) or ``bootstrap``."""

    image: str | None = Field(default=None, pattern=r"^[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$")
    bootstrap: Bootstrap | None = None

    @model_validator(mode="after")
    def _one_of(self) -> "Base":
        if (self.image is None) == (self.bootstrap is None):
            raise ValueError("give exactly one of 'image' or 'bootstrap'")
        return self


class Bases(_Model):
    builder: Base
    runtime: Base


class Cuda(_Model):
    """The CUDA toolkit that compiles the preset's parts, and where the runtime gets CUDA's libraries.

    ``runtime: "base"``: from the runtime base image (``nvidia/cuda:...-runtime``).
    ``runtime: "wheels"``: from the lock's ``nvidia-*`` wheels (torch's own CUDA set), on a
    base that carries no CUDA; the toolkit (``version``) is then only in the builder, and its
    major must be the wheels' major (CUDA minor-version compatibility).
    """

    version: str = Field(pattern=r"^\d+\.\d+$")
    cudnn: str = Field(pattern=r"^\d+$")
    runtime: Literal["base", "wheels"] = "base"


class Python(_Model):
    version: str = Field(pattern=r"^3\.\d+$")

    def debs(self, stage: str) -> tuple[str, ...]:
        """The .debs that bring this Python into a stage: the builder also makes the venv."""
        if stage == "builder":
            return (f"python{self.version}", f"python{self.version}-venv")
        return (f"python{self.version}",)

    @property
    def tag(self) -> str:
        return "cp" + self.version.replace(".", "")


class Torch(_Model):
    """The PyTorch set, its own attribute: versions and the index it comes from."""

    torch: VersionStr
    torchvision: VersionStr
    torchaudio: VersionStr
    cuda_tag: str = Field(pattern=r"^(cpu|cu\d+)$")
    index_url: Url

    @property
    def local_label(self) -> str:
        """``+cu118`` when the set comes from the PyTorch index, else ``""``."""
        return "" if self.index_url.rstrip("/") == compat.PYPI_SIMPLE else f"+{self.cuda_tag}"

    def requirements(self) -> tuple[str, ...]:
        lbl = self.local_label
        return (f"torch=={self.torch}{lbl}", f"torchvision=={self.torchvision}{lbl}", f"torchaudio=={self.torchaudio}{lbl}")


class TensorRT(_Model):
    version: VersionStr
    source: Literal["deb", "wheel", "tar"]
    debs: tuple[DebName, ...] = ()
    wheels: tuple[Requirement, ...] = ()
    url: ArchiveUrl | None = None
    sha256: Sha256 | None = None

    @model_validator(mode="after")
    def _source_fields(self) -> "TensorRT":
        if self.source == "deb" and not self.debs:
            raise ValueError("source 'deb' needs 'debs' (pinned package=version list)")
        if self.source == "wheel" and not self.wheels:
            raise ValueError("source 'wheel' needs 'wheels' (requirements)")
        if self.source == "tar" and (self.url is None or self.sha256 is None):
            raise ValueError("source 'tar' needs 'url' and 'sha256'")
        return self


class _NamedByUrl:
    """An archive is stored under the last part of its URL."""

    url: str

    @property
    def filename(self) -> str:
        return self.url.rstrip("/").rsplit("/", 1)[-1]


class Source(_NamedByUrl, _Model):
    """A source archive fetched by URL and checked against its sha256."""

    version: VersionStr
    url: ArchiveUrl
    sha256: Sha256


class FFmpeg(Source):
    configure_flags: tuple[str, ...] = ()


class Contrib(_NamedByUrl, _Model):
    """opencv_contrib's archive (same release as OpenCV): its modules are built alongside."""

    url: ArchiveUrl
    sha256: Sha256


class OpenCV(Source):
    cuda: bool = False
    dnn: bool = True
    python: bool = Field(default=True, description="build OpenCV's Python bindings (cv2) into the image's venv, against the lock's numpy")
    contrib: Contrib | None = Field(default=None, description="opencv_contrib archive; WITH_CUDA needs its cudev module")
    cmake_flags: tuple[str, ...] = ()


class Apt(_Model):
    build: tuple[DebName, ...] = ()
    runtime: tuple[DebName, ...] = ()


class Requirements(_Model):
    packages: tuple[Requirement, ...] = ()
    file: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._-]+\.in$")


def _check_secret_name(value: str) -> str:
    from airlock.secrets import is_secret_name, name_problem, reserved_problem

    if not is_secret_name(value):
        raise ValueError(name_problem(value))
    reserved = reserved_problem(value)
    if reserved:
        raise ValueError(reserved)
    return value


#: a name in ``app.secrets``: docker/build-app sources the secrets as shell, so a shell identifier
SecretName = Annotated[str, AfterValidator(_check_secret_name)]


class App(_Model):
    """How the application is built: a source tree the user prepared (never cloned)."""

    src: str = Field(min_length=1)
    build: tuple[str, ...] = Field(min_length=1)
    entrypoint: tuple[str, ...] = Field(min_length=1)
    smoke: tuple[str, ...] = ()
    secrets: tuple[SecretName, ...] = Field(default=(), description="names of .env variables the build step may read as BuildKit secrets")


class Preset(_Model):
    schema_version: Literal[1] = 1
    name: PresetName
    description: str = ""
    os: Literal["ubuntu22.04", "debian12"]
    platform: Literal["linux/amd64", "linux/arm64"] = "linux/amd64"
    base: Bases
    cuda: Cuda | None
    python: Python
    torch: Torch | None = None
    tensorrt: TensorRT | None = None
    ffmpeg: FFmpeg | None = None
    opencv: OpenCV | None = None
    apt: Apt = Apt()
    requirements: Requirements = Requirements()
    app: App | None = None

    @property
    def named_sources(self) -> tuple[tuple[str, Source], ...]:
        """Every archive the store holds under ``sources/``, with the preset field of its URL."""
        out: list[tuple[str, Source]] = []
        if self.ffmpeg is not None:
            out.append(("ffmpeg.url", self.ffmpeg))
        if self.opencv is not None:
            out.append(("opencv.url", self.opencv))
            if self.opencv.contrib is not None:
                c = self.opencv.contrib
                out.append(("opencv.contrib.url", Source(version=self.opencv.version, url=c.url, sha256=c.sha256)))
        if self.tensorrt is not None and self.tensorrt.source == "tar":
            out.append(("tensorrt.url", Source(version=self.tensorrt.version, url=self.tensorrt.url, sha256=self.tensorrt.sha256)))  # type: ignore[arg-type]
        return tuple(out)

    @property
    def sources(self) -> tuple[Source, ...]:
        """Every archive the store holds under ``sources/``, in a stable order."""
        return tuple(src for _, src in self.named_sources)

    @property
    def arch(self) -> str:
        return self.platform.split("/", 1)[1]


# ---------------------------------------------------------------- loading


def _field_path(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int):
            parts.append(f"[{p}]")
        elif p.startswith("function-") or p in ("Bootstrap", "str"):
            continue
        else:
            parts.append(("." if parts else "") + p)
    return "".join(parts) or "(top level)"


def parse_preset(data: Any, path: Path | str) -> Preset:
    """Validate ``data`` as a preset; the first problem becomes a PresetError."""
    try:
        preset = Preset.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        elif err["type"] == "missing":
            msg = "required field is missing"
        raise PresetError(path, _field_path(err["loc"]), msg) from None
    problems = compat.check(preset)
    if problems:
        raise PresetError(path, problems[0].field, problems[0].message)
    return preset


def load_preset_file(path: Path) -> Preset:
    raw = read_input_text(path, missing="no such preset file")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise PresetError(path, None, f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise PresetError(path, None, "malformed JSON: nested too deeply") from None
    except ValueError as exc:  # an integer past Python's digit limit
        raise PresetError(path, None, f"malformed JSON: {str(exc).split(';')[0]}") from None
    if not isinstance(data, dict):
        raise PresetError(path, None, "a preset is a JSON object")
    preset = parse_preset(data, path)
    if preset.name != path.stem:
        raise PresetError(path, "name", f"{preset.name!r} does not match the file name {path.stem!r}")
    return preset


def check_name(name: str) -> str:
    if not is_valid_name(name):
        raise InputError(f"--preset {name!r}: not a valid preset name ({NAME_RULE})")
    return name


def load_preset(project: Project, name: str, env: Mapping[str, str] | None = None) -> Preset:
    """Load ``presets/<name>.json`` and apply the documented environment overrides."""
    path = project.preset_path(check_name(name))
    if not path.exists():
        known = ", ".join(preset_names(project)) or "none"
        raise InputError(f"{path}: no such preset (known: {known})")
    return apply_overrides(load_preset_file(path), path, settings.collect({}, env))


def apply_overrides(preset: Preset, path: Path, overrides: Mapping[str, str]) -> Preset:
    """``preset`` with ``overrides`` (:mod:`airlock.settings`: variable -> value) applied and validated like the file."""
    if not overrides:
        return preset
    data = settings.override_data(preset.model_dump(mode="json"), path, overrides)
    return parse_preset(data, f"{path} (with {', '.join(sorted(overrides))})")


def preset_names(project: Project) -> list[str]:
    return sorted(p.stem for p in project.presets_dir.glob("*.json"))


def load_all(project: Project, env: Mapping[str, str] | None = None) -> list[Preset]:
    return [load_preset(project, n, env) for n in preset_names(project)]


def requirements_lines(project: Project, preset: Preset) -> list[str]:
    """The lock's input: the torch set, TensorRT wheels, inline and file requirements."""
    lines: list[str] = []
    if preset.torch is not None:
        lines.extend(preset.torch.requirements())
    if preset.tensorrt is not None:
        lines.extend(preset.tensorrt.wheels)
    lines.extend(preset.requirements.packages)
    if preset.requirements.file:
        path = project.presets_dir / preset.requirements.file
        try:
            text = read_input_text(path)
        except FileNotFoundError:
            raise PresetError(project.preset_path(preset.name), "requirements.file", f"{path} does not exist") from None
        for raw in text.splitlines():
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if line.startswith("-"):
                raise PresetError(path, None, f"options are not allowed in a requirements file ({line.split()[0]}); indexes come from the preset")
            lines.append(line)
    return lines


def dump_preset(preset: Preset) -> str:
    """Canonical JSON for a preset (what ``inv presets --show`` prints and the prompt writes)."""
    return json.dumps(preset.model_dump(mode="json", exclude_defaults=False), indent=2) + "\n"
