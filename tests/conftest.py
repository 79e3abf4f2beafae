"""Shared fixtures: an isolated environment and the real project on disk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Machine pip/Docker/airlock settings must not leak into a test."""
    for key in list(os.environ):
        if key.startswith(("PIP_", "DOCKER_", "AIRLOCK_", "UV_")):
            monkeypatch.delenv(key, raising=False)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def project_copy(tmp_path: Path) -> Path:
    """A copy of the project's presets/ and locks/ in a fresh folder."""
    dst = tmp_path / "proj"
    dst.mkdir()
    for name in ("presets", "locks"):
        if (REPO / name).exists():
            shutil.copytree(REPO / name, dst / name)
    (dst / "tasks.py").write_text((REPO / "tasks.py").read_text())
    return dst
