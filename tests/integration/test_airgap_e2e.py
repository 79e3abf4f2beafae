"""The air-gap proof: one folder moves, and builds with no route anywhere, on an engine that has never seen it.

The build runs on a second dockerd of the test's own (empty data root, no bridge): it starts
with no image and no build cache, exactly like a site's machine, and the main engine keeps
the cache the other tests build on (pruning it here made every later test compile cold).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, clone_project
from tests.integration.conftest import Engine, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]


def test_copied_folder_verifies_and_builds_with_no_network(synced_demo: Path, tmp_path: Path, isolated_engine: Engine) -> None:
    """Copy the repo + artifacts/<demo>/ only, then verify and build under unshare -n on an engine with no image and no cache."""
    site = clone_project(tmp_path / "site")
    shutil.copytree(synced_demo, site / "artifacts" / DEMO)  # a real copy, as carried on a disk
    assert sorted(p.name for p in (site / "artifacts").iterdir()) == [DEMO]
    counts = isolated_engine.docker("system", "df", "--format", "{{.Type}}={{.TotalCount}}").splitlines()
    assert "Images=0" in counts and "Build Cache=0" in counts, counts
    env = isolated_engine.env()

    inv_bin = str(Path(sys.executable).with_name("inv"))
    # The airlock process itself has no network at all: a new, empty network namespace.
    # (The Docker daemon is reached over its unix socket; the build runs --network=none.)
    cut = ["unshare", "--net", "--"]
    probe = subprocess.run(cut + [sys.executable, "-c", "import socket; socket.create_connection(('pypi.org', 443), timeout=5)"], capture_output=True, text=True)
    assert probe.returncode != 0, "unshare -n did not cut the network"

    verify = subprocess.run(cut + [inv_bin, "verify", "--preset", DEMO], cwd=site, capture_output=True, text=True, env=env)
    ok(verify, "offline verify")
    build = subprocess.run(cut + [inv_bin, "build", "--preset", DEMO, "--target", "runtime"], cwd=site, capture_output=True, text=True, timeout=3600, env=env)
    ok(build, "offline build")
    assert "deps build" in build.stdout, build.stdout
    # the deps hash does not depend on whether the bases were loaded: a second build reuses them
    again = subprocess.run(cut + [inv_bin, "build", "--preset", DEMO, "--target", "runtime"], cwd=site, capture_output=True, text=True, timeout=600, env=env)
    ok(again, "offline rebuild")
    assert "deps reuse" in again.stdout, again.stdout
    smoke = subprocess.run(cut + [inv_bin, "smoke", "--preset", DEMO], cwd=site, capture_output=True, text=True, env=env)
    ok(smoke, "offline smoke")
    # it all happened on the isolated engine: the image is there
    assert isolated_engine.docker("images", "-q", f"airlock/{DEMO}:runtime").strip()
