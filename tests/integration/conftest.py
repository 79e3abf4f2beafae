"""Integration fixtures: the demo preset synced and built once per session, for real."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, inv


def _ok(proc: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


@pytest.fixture(scope="session")
def synced_demo() -> Path:
    """`inv sync` of the demo preset into the repository's own artifacts/ (reused after)."""
    _ok(inv(REPO, "sync", "--preset", DEMO), "inv sync")
    return REPO / "artifacts" / DEMO


@pytest.fixture(scope="session")
def built_demo(synced_demo: Path) -> str:
    """`inv build --target runtime` of the demo preset; returns the image tag."""
    _ok(inv(REPO, "build", "--preset", DEMO, "--target", "runtime"), "inv build")
    return f"airlock/{DEMO}:runtime"


def docker_json(*args: str) -> object:
    out = subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def docker_out(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def drop_preset_images(name: str) -> None:
    """Remove every ``airlock/<name>:*`` image, so a build must make them anew (and a test leaves none behind)."""
    refs = [r for r in docker_out("images", "--format", "{{.Repository}}:{{.Tag}}").split() if r.startswith(f"airlock/{name}:")]
    if refs:
        subprocess.run(["docker", "image", "rm", "-f", *refs], check=True, capture_output=True)


ok = _ok
