"""A lock's inputs and their digest: what makes a lock stale (see :mod:`airlock.lock`, "Staleness")."""

from __future__ import annotations

import json
from dataclasses import dataclass

from airlock import compat
from airlock.errors import IntegrityError
from airlock.fsutil import sha256_bytes
from airlock.lockfile import Lockfile
from airlock.presets import Preset, requirements_lines
from airlock.project import Project
from airlock.target import Target

#: bump when the meaning of the digest's inputs changes (every lock becomes stale)
DIGEST_SCHEMA = 1


@dataclass(frozen=True)
class LockInputs:
    """Everything a lock depends on; its :attr:`digest` goes into the lock header."""

    preset: str
    python: str  # "3.11"
    target: str  # Target.label: "cp311 linux/amd64 glibc2.36"
    platform: str  # the preset's platform: "linux/amd64"
    requirements: tuple[str, ...]
    index_url: str
    extra_index_urls: tuple[str, ...] = ()

    def canonical(self) -> bytes:
        doc = {
            "schema": DIGEST_SCHEMA,
            "preset": self.preset,
            "python": self.python,
            "target": self.target,
            "platform": self.platform,
            "requirements": list(self.requirements),
            "index_url": self.index_url,
            "extra_index_urls": list(self.extra_index_urls),
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    @property
    def digest(self) -> str:
        return "sha256:" + sha256_bytes(self.canonical())


def index_urls(preset: Preset) -> tuple[str, tuple[str, ...]]:
    """``(index_url, extra_index_urls)``: PyPI, plus the torch index when it is not PyPI."""
    extra: tuple[str, ...] = ()
    if preset.torch is not None:
        url = preset.torch.index_url.rstrip("/")
        if url != compat.PYPI_SIMPLE:
            extra = (url,)
    return compat.PYPI_SIMPLE, extra


def lock_inputs(project: Project, preset: Preset) -> LockInputs:
    target = Target.for_preset(preset)
    index, extra = index_urls(preset)
    return LockInputs(
        preset=preset.name,
        python=preset.python.version,
        target=target.label,
        platform=preset.platform,
        requirements=tuple(requirements_lines(project, preset)),
        index_url=index,
        extra_index_urls=extra,
    )


def input_digest(project: Project, preset: Preset) -> str:
    """The digest a fresh lock of ``preset`` records (``sha256:<hex>``)."""
    return lock_inputs(project, preset).digest


def check_fresh(project: Project, preset: Preset, lock: Lockfile) -> None:
    """The one freshness check (sync, verify, build): IntegrityError when ``lock`` was made from other inputs."""
    if lock.input_digest != input_digest(project, preset):
        raise IntegrityError(f"{project.lock_path(preset.name)} is stale for {project.preset_path(preset.name)}; run: inv lock --preset {preset.name}")
