"""inv build of the demo preset against the real engine, offline (--network=none)."""

from __future__ import annotations

import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, clone_project, inv
from tests.integration.conftest import docker_json, docker_out, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]


def test_runtime_image_passes_smoke(built_demo: str) -> None:
    """The runtime image imports every locked package, runs ffmpeg and the app, as non-root, with no compiler, pip cache or wheel."""
    proc = ok(inv(REPO, "smoke", "--preset", DEMO), "inv smoke")
    for check in ("imports", "ffmpeg -version", "app smoke", "non-root user", "no compilers", "no pip cache", "no wheel files"):
        line = next(line for line in proc.stdout.splitlines() if line.startswith(check))
        assert line.split()[-1] == "ok", line
    imported = next(line for line in proc.stdout.splitlines() if line.startswith("imported:"))
    for name in ("numpy", "PIL", "fastapi", "uvicorn", "cv2"):
        assert name in imported.split(": ", 1)[1].split(", "), imported


def test_runtime_image_config(built_demo: str) -> None:
    """Runtime runs as user app, carries OCI and airlock labels, and has no gcc on disk."""
    info = docker_json("image", "inspect", built_demo)[0]  # type: ignore[index]
    assert info["Config"]["User"] == "app"
    labels = info["Config"]["Labels"]
    assert labels["io.airlock.preset"] == DEMO
    assert labels["io.airlock.python"] == "3.11"
    assert len(labels["io.airlock.deps-hash"]) == 64
    assert labels["io.airlock.lock-digest"].startswith("sha256:")
    assert "org.opencontainers.image.created" in labels
    out = docker_out("run", "--rm", "--network=none", "--entrypoint", "/bin/sh", built_demo, "-c", "ls /usr/bin | grep -c -E '^(gcc|g\\+\\+|cc)(-[0-9]+)?$' || true")
    assert out.strip() == "0"


def test_dev_image_has_toolchain_sources_and_app(built_demo: str) -> None:
    """--target dev builds the builder-based image: compiler, FFmpeg source tree and the app."""
    ok(inv(REPO, "build", "--preset", DEMO, "--target", "dev"), "inv build --target dev")
    image = f"airlock/{DEMO}:dev"
    out = docker_out("run", "--rm", "--network=none", "--entrypoint", "/bin/sh", image, "-c", "gcc --version | head -1; ls /src/ffmpeg/configure; xaiva-media")
    assert "gcc" in out and "/src/ffmpeg/configure" in out and "xaiva-media ready" in out


def test_build_prints_context_and_excludes_env_and_other_presets(built_demo: str, tmp_path: Path) -> None:
    """The build context holds only this preset's artifacts: no .env, no .git, no other preset's store."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    (proj / ".env").write_text("GITHUB_TOKEN=ghp_should_never_be_in_a_context\n")
    other = proj / "artifacts" / "ubuntu22.04-cuda12.1-torch2.3" / "wheels"
    other.mkdir(parents=True)
    (other / "foreign.whl").write_bytes(b"x")
    (proj / ".git").mkdir()
    (proj / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    proc = ok(inv(proj, "build", "--preset", DEMO, "--dry-run"), "dry run")
    assert "context" in proc.stdout
    proc = ok(inv(proj, "build", "--preset", DEMO), "build in a clone")
    assert "app context" in proc.stdout
    ctx = proj / ".airlock" / "build" / DEMO
    names = {p.relative_to(ctx).as_posix() for p in ctx.rglob("*")}
    assert not any(n.endswith(".env") or "/.git" in n or "foreign.whl" in n for n in names), sorted(names)[:20]
    assert any(n.startswith("deps/wheels/") for n in names) or "deps reused" in proc.stdout or "reusing" in proc.stdout


def test_run_step_cannot_reach_the_network(built_demo: str, tmp_path: Path) -> None:
    """A RUN step of the build (the app build) cannot resolve or reach PyPI."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    app = tmp_path / "netprobe"
    app.mkdir()
    (app / "build.sh").write_text(
        "set -eu\n"
        "mkdir -p \"$PREFIX/bin\"\n"
        "if $PYTHON -c \"import urllib.request; urllib.request.urlopen('https://pypi.org/simple/', timeout=10)\" 2>/dev/null;"
        " then echo reached > \"$PREFIX/net.txt\"; else echo blocked > \"$PREFIX/net.txt\"; fi\n"
        "printf '#!/bin/sh\\ncat /opt/app/net.txt\\n' > \"$PREFIX/bin/xaiva-media\"; chmod +x \"$PREFIX/bin/xaiva-media\"\n"
    )
    proc = ok(inv(proj, "build", "--preset", DEMO, "--app-src", str(app), "--tag", "airlock-test/netprobe:runtime"), "netprobe build")
    assert "reusing" in proc.stdout, proc.stdout
    out = docker_out("run", "--rm", "airlock-test/netprobe:runtime")
    assert out.strip() == "blocked"


def test_code_change_rebuilds_only_the_app(built_demo: str, tmp_path: Path) -> None:
    """Changing one line of the app rebuilds without touching the deps images, and the new code runs."""
    before = docker_json("image", "inspect", built_demo)[0]["Config"]["Labels"]["io.airlock.deps-hash"]  # type: ignore[index]
    deps_ids = {
        stage: docker_out("image", "inspect", "--format", "{{.Id}}", f"airlock/{DEMO}:deps-{before[:16]}-{stage}").strip()
        for stage in ("builder", "runtime")
    }
    app = tmp_path / "app"
    shutil.copytree(REPO / "examples" / "xaiva-media", app)
    init = app / "src" / "xaiva_media" / "__init__.py"
    init.write_text(init.read_text().replace('GREETING = "xaiva-media ready"', 'GREETING = "xaiva-media changed"'))
    tag = "airlock-test/codechange:runtime"
    proc = ok(inv(REPO, "build", "--preset", DEMO, "--app-src", str(app), "--tag", tag), "code-only rebuild")
    assert "deps reuse" in proc.stdout, proc.stdout
    labels = docker_json("image", "inspect", tag)[0]["Config"]["Labels"]  # type: ignore[index]
    assert labels["io.airlock.deps-hash"] == before
    for stage, old in deps_ids.items():
        now = docker_out("image", "inspect", "--format", "{{.Id}}", f"airlock/{DEMO}:deps-{before[:16]}-{stage}").strip()
        assert now == old, f"deps {stage} image changed"
    assert docker_out("run", "--rm", "--network=none", tag).strip() == "xaiva-media changed"
    # the runtime image is the deps runtime image plus the app layers only
    base_layers = docker_json("image", "inspect", f"airlock/{DEMO}:deps-{before[:16]}-runtime")[0]["RootFS"]["Layers"]  # type: ignore[index]
    layers = docker_json("image", "inspect", tag)[0]["RootFS"]["Layers"]  # type: ignore[index]
    assert layers[: len(base_layers)] == base_layers


def test_build_refuses_a_stale_lock(tmp_path: Path, synced_demo: Path) -> None:
    """inv build refuses to start when the lock is stale, naming the fix."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    req = proj / "presets" / f"{DEMO}.in"
    req.write_text(req.read_text() + "requests\n")
    proc = inv(proj, "build", "--preset", DEMO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "inv lock --preset" in proc.stderr and "Traceback" not in proc.stderr


def test_build_refuses_when_verify_fails(tmp_path: Path, synced_demo: Path) -> None:
    """inv build refuses to start when an artifact was altered, naming the file."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    src = next((proj / "artifacts" / DEMO / "sources").iterdir())
    data = src.read_bytes()
    src.unlink()
    src.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    proc = inv(proj, "build", "--preset", DEMO)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert src.name in proc.stderr + proc.stdout


def test_inv_build_on_a_terminal_asks_and_builds_the_chosen_preset(built_demo: str) -> None:
    """`inv build` without --preset on a pty asks preset-or-manual, which preset, build type; then plans that build."""
    import sys

    from tests.test_prompt import _drive

    text = _drive([str(Path(sys.executable).with_name("inv")), "build", "--dry-run"], ["1", "1", "1"], REPO)
    order = [text.index(q) for q in ("Use a preset or choose manually?", "Which preset?", "Build type?")]
    assert order == sorted(order)
    assert f"target      runtime -> airlock/{DEMO}:runtime" in text


def _builder_steps(log: str) -> list[tuple[str, bool]]:
    """Each RUN step of the builder's stages (builder-base, parts-compiled or parts-prebuilt, builder) in BuildKit's
    plain progress, in order: (its line, whether it was CACHED).

    Step ids (``#8``) restart with each docker build, so a CACHED line belongs to the latest header with its id.
    """
    steps: list[list[object]] = []
    latest: dict[str, list[object]] = {}
    for line in log.splitlines():
        head = re.match(r"(#\d+) (\[(?:builder|builder-base|parts-compiled|parts-prebuilt) [^\]]*\] RUN .*)$", line)
        if head:
            latest[head.group(1)] = step = [head.group(2), False]
            steps.append(step)
        elif re.fullmatch(r"#\d+ CACHED", line.strip()) and line.split()[0] in latest:
            latest[line.split()[0]][1] = True
        elif re.match(r"#\d+ \[", line):
            latest.pop(line.split()[0], None)  # the id now names another step
    return [(str(t), bool(c)) for t, c in steps]


def test_lock_change_rebuilds_deps_without_recompiling_ffmpeg(built_demo: str, tmp_path: Path) -> None:
    """One more requirement: new deps images, but BuildKit reuses the apt and FFmpeg steps; only the venv step runs again."""
    proj = clone_project(tmp_path / "p", artifacts_of=(DEMO,))
    req = proj / "presets" / f"{DEMO}.in"
    req.write_text(req.read_text() + "six\n")
    ok(inv(proj, "lock", "--preset", DEMO), "inv lock")
    # A comment unique to this run makes this lock's bytes new to BuildKit even on an engine whose cache saw
    # "demo + six" before (the engine's cache is kept between runs), so the venv step must really run again.
    lock = proj / "locks" / f"{DEMO}.txt"
    lock.write_text(lock.read_text() + f"# test run {uuid.uuid4().hex}\n")
    ok(inv(proj, "sync", "--preset", DEMO, "--only", "wheels"), "inv sync")
    tag = "airlock-test/lockchange:runtime"
    # The deps tags of "demo + six" may be left from an earlier run on this engine: drop them (not the build
    # cache), so the deps images must be built again and BuildKit's reuse of the apt and FFmpeg steps shows.
    plan = ok(inv(proj, "build", "--preset", DEMO, "--tag", tag, "--dry-run"), "dry run").stdout
    dhash = re.search(r"^deps hash\s+([0-9a-f]{16})", plan, re.M)
    assert dhash is not None, plan
    deps_tags = [f"airlock/{DEMO}:deps-{dhash.group(1)}-{stage}" for stage in ("builder", "runtime")]
    subprocess.run(["docker", "image", "rm", "-f", *deps_tags], capture_output=True)
    proc = ok(inv(proj, "build", "--preset", DEMO, "--tag", tag), "rebuild after a lock change")
    log = proc.stdout + proc.stderr
    assert "deps build" in proc.stdout, proc.stdout
    steps = _builder_steps(log)
    ffmpeg = [c for t, c in steps if "build-ffmpeg" in t]
    apt = [c for t, c in steps if "apt-install" in t]
    venv = [c for t, c in steps if "pip install" in t]
    assert ffmpeg and apt and venv, log[-4000:]
    assert all(ffmpeg) and all(apt), steps
    assert not all(venv), f"the venv step should have run again: {steps}"
    assert docker_out("run", "--rm", "--network=none", "--entrypoint", "python", tag, "-c", "import six; print(six.__version__)").strip()
