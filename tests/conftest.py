"""Shared fixtures: an isolated environment and the real project on disk."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _isolate_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Machine pip/Docker/airlock settings must not leak into a test, nor airlock's cache from one test into the next."""
    for key in list(os.environ):
        if key.startswith(("PIP_", "DOCKER_", "AIRLOCK_", "UV_")):
            monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AIRLOCK_CACHE_DIR", str(tmp_path_factory.mktemp("airlock-cache")))


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


DEMO = "debian12-cpu-py3.11"

#: A debootstrapped Ubuntu 22.04 base that satisfies every rule: Ubuntu's archive keys pinned
#: (a Debian host lacks them), universe and jammy-updates (Python 3.11's .debs live only there).
JAMMY = {
    "suite": "jammy",
    "mirror": "http://archive.ubuntu.com/ubuntu",
    "components": ["main", "universe"],
    "suites": ["jammy-updates"],
    "keyring": {
        "url": "http://archive.ubuntu.com/ubuntu/pool/main/u/ubuntu-keyring/ubuntu-keyring_2021.03.26_all.deb",
        "sha256": "0d0e7ed6b112f5d03eabf3c7eb01ebdacf9c57714b279e90495cfc58c8c4520f",
        "member": "usr/share/keyrings/ubuntu-archive-keyring.gpg",
    },
}
_COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "artifacts", ".airlock", "__pycache__", ".pytest_cache", ".hypothesis", "*.pyc")


def _carried(repo: Path) -> list[str] | None:
    """The files a site carries: what git tracks plus what it does not ignore (None outside a git checkout)."""
    import subprocess

    try:
        out = subprocess.run(["git", "-C", str(repo), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                             capture_output=True, check=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return sorted({p for p in out.decode("utf-8", "surrogateescape").split("\0") if p})


def clone_project(dst: Path, *, artifacts_of: tuple[str, ...] = ()) -> Path:
    """Copy the project folder the way a site would carry it (no .git, no .venv).

    In a git checkout that is what git tracks or does not ignore, so a developer's scratch
    folders (ignored through ``.git/info/exclude``) never reach a test's copy; elsewhere
    the folder less :data:`_COPY_IGNORE`. The stores of ``artifacts_of`` are copied as hard
    links (cheap, same bytes).
    """
    files = _carried(REPO)
    if files is None:
        shutil.copytree(REPO, dst, ignore=_COPY_IGNORE, symlinks=True)
    else:
        dst.mkdir(parents=True, exist_ok=True)
        for rel in files:
            src = REPO / rel
            if not os.path.lexists(src) or src.is_dir() and not src.is_symlink():
                continue  # deleted in the working tree, or a submodule
            (dst / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / rel, follow_symlinks=False)
    for name in artifacts_of:
        src = REPO / "artifacts" / name
        if src.exists():
            shutil.copytree(src, dst / "artifacts" / name, copy_function=os.link)
    return dst


def inv(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 3600, stdin: str | None = None):  # type: ignore[no-untyped-def]
    """Run the project's real ``inv`` in ``cwd``; returns the CompletedProcess."""
    import subprocess
    import sys

    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "AIRLOCK_")) or k == "AIRLOCK_CACHE_DIR"}
    full_env.update(env or {})
    return subprocess.run(
        [str(Path(sys.executable).with_name("inv")), *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        input=stdin,
    )
