"""The project is the folder airlock runs in: the one holding tasks.py and presets/.

Nothing is derived from where the package is installed, so a copy of the folder,
carried to a site, works on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from airlock.errors import InputError


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def here(cls, cwd: Path | str | None = None) -> "Project":
        """The project at ``cwd`` (default: the current directory)."""
        root = Path(cwd if cwd is not None else os.getcwd()).resolve()
        if not (root / "presets").is_dir():
            raise InputError(f"{root}: not an airlock project (no presets/ folder); run airlock in the folder holding tasks.py and presets/")
        return cls(root)

    @property
    def presets_dir(self) -> Path:
        return self.root / "presets"

    @property
    def locks_dir(self) -> Path:
        return self.root / "locks"

    @property
    def artifacts_root(self) -> Path:
        return self.root / "artifacts"

    def preset_path(self, name: str) -> Path:
        return self.presets_dir / f"{name}.json"

    def lock_path(self, name: str) -> Path:
        return self.locks_dir / f"{name}.txt"

    def artifacts(self, name: str) -> Path:
        return self.artifacts_root / name

    @property
    def dockerfile(self) -> Path:
        return self.root / "Dockerfile"

    @property
    def env_file(self) -> Path:
        return self.root / ".env"
