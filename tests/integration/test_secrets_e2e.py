"""A secret used by a build step never reaches the image: history, inspect and save."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from tests.conftest import DEMO, clone_project, inv
from tests.integration.conftest import docker_out, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]

TOKEN = "ghp_airlockFakeToken0123456789abcdefXYZ"


def test_secret_used_by_build_step_is_absent_from_image(built_demo: str, tmp_path: Path) -> None:
    """The app build reads GITHUB_TOKEN from .env via a secret mount; the token occurs 0 times in history, inspect and save."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    app = tmp_path / "app-with-secret"
    app.mkdir()
    (app / "build.sh").write_text(
        "set -eu\n"
        'test -n "${GITHUB_TOKEN:-}"\n'
        'mkdir -p "$PREFIX/bin"\n'
        'printf %s "$GITHUB_TOKEN" | sha256sum | cut -d" " -f1 > "$PREFIX/token.sha256"\n'
        "printf '#!/bin/sh\\ncat /opt/app/token.sha256\\n' > \"$PREFIX/bin/xaiva-media\"; chmod +x \"$PREFIX/bin/xaiva-media\"\n"
    )
    preset_path = proj / "presets" / f"{DEMO}.json"
    data = json.loads(preset_path.read_text())
    data["app"]["src"] = str(app)
    data["app"]["secrets"] = ["GITHUB_TOKEN"]
    data["app"]["smoke"] = []
    preset_path.write_text(json.dumps(data, indent=2))
    (proj / ".env").write_text(f"GITHUB_TOKEN={TOKEN}\n")
    tag = "airlock-test/secret:runtime"
    ok(inv(proj, "build", "--preset", DEMO, "--tag", tag), "build with a secret")

    # the step really used the token
    assert docker_out("run", "--rm", "--network=none", tag).strip() == hashlib.sha256(TOKEN.encode()).hexdigest()
    # and it is nowhere in the image
    assert TOKEN not in docker_out("history", "--no-trunc", tag)
    assert TOKEN not in docker_out("image", "inspect", tag)
    saved = tmp_path / "image.tar"
    subprocess.run(["docker", "save", "-o", str(saved), tag], check=True)
    blob = saved.read_bytes()
    assert blob.count(TOKEN.encode()) == 0
    assert len(blob) > 10_000_000  # a real image was scanned


def test_secret_looking_build_arg_is_refused(tmp_path: Path) -> None:
    """--build-arg GITHUB_TOKEN=... is refused with exit 2 before anything runs."""
    proj = clone_project(tmp_path / "p")
    proc = inv(proj, "build", "--preset", DEMO, "--build-arg", "GITHUB_TOKEN=x", "--dry-run")
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "GITHUB_TOKEN" in proc.stderr and "Traceback" not in proc.stderr


def test_env_files_in_the_app_tree_never_reach_the_dev_image(built_demo: str, tmp_path: Path) -> None:
    """.env.production and secrets.env in the app tree are absent from the app-build step and from /src/app of the dev image; .dockerignore is honoured."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    app = tmp_path / "app-with-env-files"
    (app / "tests").mkdir(parents=True)
    (app / ".env.production").write_text(f"DB_PASSWORD={TOKEN}\n")
    (app / "secrets.env").write_text(f"API_KEY={TOKEN}\n")
    (app / ".dockerignore").write_text("tests\n")
    (app / "tests" / "t.py").write_text("x = 1\n")
    (app / "build.sh").write_text(
        "set -eu\n"
        "test ! -e .env.production && test ! -e secrets.env && test ! -e tests\n"
        'mkdir -p "$PREFIX/bin"\n'
        "printf '#!/bin/sh\\necho ok\\n' > \"$PREFIX/bin/xaiva-media\"; chmod +x \"$PREFIX/bin/xaiva-media\"\n"
    )
    preset_path = proj / "presets" / f"{DEMO}.json"
    data = json.loads(preset_path.read_text())
    data["app"]["src"] = str(app)
    data["app"]["smoke"] = []
    preset_path.write_text(json.dumps(data, indent=2))
    tag = "airlock-test/env-files:dev"
    ok(inv(proj, "build", "--preset", DEMO, "--target", "dev", "--tag", tag), "dev build of a tree with .env files")
    try:
        listing = docker_out("run", "--rm", "--network=none", "--entrypoint", "/bin/sh", tag, "-c", "cd /src/app && find . | sort")
        assert listing.split() == [".", "./.dockerignore", "./build.sh"]
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
