"""The air-gap proof: one folder moves, and builds with no route anywhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, clone_project
from tests.integration.conftest import docker_out, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]


def _demo_images() -> list[str]:
    out = docker_out("images", "--format", "{{.Repository}}:{{.Tag}}")
    return [r for r in out.split() if r.startswith((f"airlock/{DEMO}:", "airlock-base/debian12:"))]


def test_copied_folder_verifies_and_builds_with_no_network(synced_demo: Path, tmp_path: Path) -> None:
    """Copy the repo + artifacts/<demo>/ only, drop the demo's images and build cache, then verify and build under unshare -n."""
    site = clone_project(tmp_path / "site")
    shutil.copytree(synced_demo, site / "artifacts" / DEMO)  # a real copy, as carried on a disk
    assert sorted(p.name for p in (site / "artifacts").iterdir()) == [DEMO]

    for ref in _demo_images():
        subprocess.run(["docker", "image", "rm", "-f", ref], check=True, capture_output=True)
    subprocess.run(["docker", "builder", "prune", "-af"], check=True, capture_output=True)
    assert _demo_images() == []

    inv_bin = str(Path(sys.executable).with_name("inv"))
    # The airlock process itself has no network at all: a new, empty network namespace.
    # (The Docker daemon is reached over its unix socket; the build runs --network=none.)
    cut = ["unshare", "--net", "--"]
    probe = subprocess.run(cut + [sys.executable, "-c", "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"], capture_output=True, text=True)
    assert probe.returncode != 0, "unshare -n did not cut the network"

    verify = subprocess.run(cut + [inv_bin, "verify", "--preset", DEMO], cwd=site, capture_output=True, text=True)
    ok(verify, "offline verify")
    build = subprocess.run(cut + [inv_bin, "build", "--preset", DEMO, "--target", "runtime"], cwd=site, capture_output=True, text=True, timeout=3600)
    ok(build, "offline build")
    assert "deps build" in build.stdout, build.stdout
    # the deps hash does not depend on whether the bases were loaded: a second build reuses them
    again = subprocess.run(cut + [inv_bin, "build", "--preset", DEMO, "--target", "runtime"], cwd=site, capture_output=True, text=True, timeout=600)
    ok(again, "offline rebuild")
    assert "deps reuse" in again.stdout, again.stdout
    smoke = subprocess.run(cut + [inv_bin, "smoke", "--preset", DEMO], cwd=site, capture_output=True, text=True)
    ok(smoke, "offline smoke")
