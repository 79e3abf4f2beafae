"""Prebuilt parts, for real: compile once, carry the archive, build at a site that never compiles.

The demo preset is built (compiling FFmpeg) and prebuilt on the main engine; the site build runs
on a second dockerd of the test's own (no image, no build cache, like a site's machine) with no
network: BuildKit's log shows the prebuilt step and no FFmpeg compile, and the runtime's
``/opt/ffmpeg`` has the same files, sizes, modes, owners, links and sha256 as the compiled one.
Then one FFmpeg flag changes: the key misses, verify warns the archive stale, and the build
compiles FFmpeg, saying why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO, clone_project, inv
from tests.integration.conftest import Engine, ok

pytestmark = [pytest.mark.docker, pytest.mark.network]

#: every entry under /opt/ffmpeg: path, type, size, mode, owner, link target; then every file's sha256
LIST_OPT = "cd /opt/ffmpeg && find . -printf '%p %y %s %m %U:%G %l\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum"
COMPILE_STEP = "/airlock/scripts/build-ffmpeg"


def _opt_ffmpeg(image: str, host: str | None = None) -> str:
    cmd = ["docker", *(["-H", host] if host else []), "run", "--rm", "--network=none", "--entrypoint", "/bin/sh", image, "-c", LIST_OPT]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    assert out.count("\n") > 20 and "libavcodec" in out, out[:2000]
    return out


def test_prebuilt_ffmpeg_is_unpacked_not_compiled_offline_and_ships_the_same_files(synced_demo: Path, tmp_path: Path, isolated_engine: Engine) -> None:
    """build, prebuild; then on an engine with no image and no cache, offline: no FFmpeg compile step runs and /opt/ffmpeg is identical."""
    site = clone_project(tmp_path / "site", artifacts_of=(DEMO,))
    compiled_tag = f"airlock-test/prebuilt-compiled:{tmp_path.name}"
    try:
        ok(inv(site, "build", "--preset", DEMO, "--tag", compiled_tag, "--no-prebuilt"), "inv build (compiling)")
        pre = ok(inv(site, "prebuild", "--preset", DEMO), "inv prebuild")
        assert "prebuilt 1 parts" in pre.stdout, pre.stdout
        compiled = _opt_ffmpeg(compiled_tag)
    finally:
        subprocess.run(["docker", "image", "rm", "-f", compiled_tag], capture_output=True)
    store = site / "artifacts" / DEMO
    archives = sorted(p.name for p in (store / "prebuilt").iterdir())
    assert len(archives) == 2 and archives[0].startswith("ffmpeg-") and archives[0].endswith(".inputs.json") and archives[1].endswith(".tar"), archives
    kinds = {e["path"]: e["kind"] for e in json.loads((store / "manifest.json").read_text())["entries"]}
    assert kinds[f"prebuilt/{archives[1]}"] == "prebuilt" and kinds[f"prebuilt/{archives[0]}"] == "prebuilt-inputs"
    sums = (store / "SHA256SUMS").read_text()
    assert f"prebuilt/{archives[1]}" in sums
    assert subprocess.run(["sha256sum", "-c", "--strict", "--quiet", "SHA256SUMS"], cwd=store, capture_output=True).returncode == 0

    counts = isolated_engine.docker("system", "df", "--format", "{{.Type}}={{.TotalCount}}").splitlines()
    assert "Images=0" in counts and "Build Cache=0" in counts, counts
    env = isolated_engine.env()
    inv_bin = str(Path(sys.executable).with_name("inv"))
    cut = ["unshare", "--net", "--"]
    ok(subprocess.run(cut + [inv_bin, "verify", "--preset", DEMO], cwd=site, capture_output=True, text=True, env=env), "offline verify")
    site_build = subprocess.run(cut + [inv_bin, "build", "--preset", DEMO], cwd=site, capture_output=True, text=True, timeout=3600, env=env)
    ok(site_build, "offline build from prebuilt parts")
    assert "parts       prebuilt (ffmpeg-" in site_build.stdout, site_build.stdout
    log = site_build.stderr  # BuildKit's plain progress
    assert "[parts-prebuilt 1/1] RUN" in log and "unpack-prebuilt" in log, log[-4000:]
    assert COMPILE_STEP not in log and "[parts-compiled" not in log, log[-4000:]
    assert _opt_ffmpeg(f"airlock/{DEMO}:runtime", isolated_engine.host) == compiled

    # One FFmpeg flag more: the key misses, verify warns (and passes), the build compiles FFmpeg and says why.
    preset_path = site / "presets" / f"{DEMO}.json"
    data = json.loads(preset_path.read_text())
    data["ffmpeg"]["configure_flags"].append("--enable-small")
    preset_path.write_text(json.dumps(data, indent=2) + "\n")
    verify = subprocess.run(cut + [inv_bin, "verify", "--preset", DEMO], cwd=site, capture_output=True, text=True, env=env)
    ok(verify, "offline verify after a flag change")
    assert f"warning: stale-prebuilt: prebuilt/{archives[1]}" in verify.stderr and "config: flags.txt" in verify.stderr, verify.stderr
    again = subprocess.run(cut + [inv_bin, "build", "--preset", DEMO], cwd=site, capture_output=True, text=True, timeout=3600, env=env)
    ok(again, "offline build after a flag change")
    assert f"parts       compiled (ffmpeg: prebuilt/{archives[1]} was made from other inputs (config: flags.txt))" in again.stdout, again.stdout
    assert "[parts-compiled 1/2] RUN" in again.stderr and COMPILE_STEP in again.stderr and "[parts-prebuilt" not in again.stderr
    buildconf = isolated_engine.docker("run", "--rm", "--network=none", "--entrypoint", "/bin/sh", f"airlock/{DEMO}:runtime", "-c", "ffmpeg -hide_banner -buildconf 2>&1")
    assert "--enable-small" in buildconf, buildconf
