"""The target an image runs on: Python version/ABI and platform tags, never the host's.

Locking (uv ``--python-platform``), wheel download (pip ``--platform``) and verify's
coverage check all read this one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.tags import Tag, compatible_tags, cpython_tags

if TYPE_CHECKING:
    from airlock.presets import Preset

#: glibc of each OS: the newest manylinux tag its wheels may carry.
OS_GLIBC: dict[str, tuple[int, int]] = {"debian12": (2, 36), "ubuntu22.04": (2, 35)}
ARCH = {"amd64": "x86_64", "arm64": "aarch64"}
#: uv only knows manylinux tags up to this one; newer glibc is declared as this.
UV_MAX_GLIBC = (2, 40)


@dataclass(frozen=True)
class Target:
    python_version: str  # "3.11"
    arch: str  # "x86_64" / "aarch64"
    glibc: tuple[int, int]

    @classmethod
    def for_preset(cls, preset: "Preset") -> "Target":
        return cls(preset.python.version, ARCH[preset.arch], OS_GLIBC[preset.os])

    @property
    def py_nodot(self) -> str:
        return self.python_version.replace(".", "")

    @property
    def abi(self) -> str:
        return f"cp{self.py_nodot}"

    @property
    def label(self) -> str:
        """As recorded in the lock header: ``cp311 linux/amd64 glibc2.36``."""
        plat = {v: k for k, v in ARCH.items()}[self.arch]
        return f"cp{self.py_nodot} linux/{plat} glibc{self.glibc[0]}.{self.glibc[1]}"

    @property
    def uv_platform(self) -> str:
        """``--python-platform`` for uv, e.g. ``x86_64-manylinux_2_36``."""
        major, minor = min(self.glibc, UV_MAX_GLIBC)
        return f"{self.arch}-manylinux_{major}_{minor}"

    def platform_tags(self) -> list[str]:
        """Every platform tag a wheel may carry to install here, newest first."""
        major, minor = self.glibc
        tags = [f"manylinux_{major}_{m}_{self.arch}" for m in range(minor, 4, -1)]
        legacy = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
        for m, name in legacy.items():
            if m <= minor and (self.arch == "x86_64" or m == 17):
                tags.insert(tags.index(f"manylinux_{major}_{m}_{self.arch}") + 1, f"{name}_{self.arch}")
        return tags

    def supported_tags(self) -> list[Tag]:
        """packaging Tags in priority order (as pip would rank them on the target)."""
        pv = tuple(int(x) for x in self.python_version.split("."))
        plats = self.platform_tags()
        return list(cpython_tags(pv, abis=[self.abi], platforms=plats)) + list(
            compatible_tags(pv, interpreter=f"cp{self.py_nodot}", platforms=plats)
        )

    def pip_download_args(self) -> list[str]:
        """Arguments that make ``pip download`` fetch for this target."""
        args = ["--only-binary=:all:", "--implementation", "cp", "--python-version", self.python_version, "--abi", self.abi, "--abi", "abi3", "--abi", "none"]
        for plat in self.platform_tags():
            args += ["--platform", plat]
        args += ["--platform", "any"]
        return args
