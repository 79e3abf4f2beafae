"""Benchmark: cold build vs code-only rebuild, and runtime size vs base + payload and vs naive.

    .venv/bin/python bench/bench_build.py [--preset debian12-cpu-py3.11] [--skip-cold]

Needs a synced store (inv sync --preset X) and the engine. The cold build removes the
preset's deps images and prunes the build cache first, so it really compiles
everything (FFmpeg included). Targets (issue 4): code-only rebuild <= 5 s and <= 1/30
of the cold build; runtime <= base + payload + 3 %, and >= 30 % smaller than the
naive single-stage build in bench/naive.Dockerfile.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INV = str(ROOT / ".venv" / "bin" / "inv")


def _run(*argv: str, cwd: Path = ROOT) -> str:
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def _timed(*argv: str) -> float:
    t0 = time.monotonic()
    _run(*argv)
    return time.monotonic() - t0


def _docker(*args: str) -> str:
    return _run("docker", *args)


def rows(preset: str = "debian12-cpu-py3.11", skip_cold: bool = False) -> list[tuple[str, str, str, str]]:
    """(metric, value, target, verdict) rows."""
    out: list[tuple[str, str, str, str]] = []
    tag = f"airlock/{preset}:runtime"
    if not skip_cold:
        for ref in _docker("images", "--format", "{{.Repository}}:{{.Tag}}").split():
            if ref.startswith(f"airlock/{preset}:"):
                _docker("image", "rm", "-f", ref)
        _docker("builder", "prune", "-af")
        cold = _timed(INV, "build", "--preset", preset, "--target", "runtime")
    else:
        cold = float("nan")
    if shutil.which("docker") and not _docker("images", "-q", tag).strip():
        _run(INV, "build", "--preset", preset, "--target", "runtime")
    with tempfile.TemporaryDirectory() as tmp:
        app = Path(tmp) / "app"
        shutil.copytree(ROOT / "examples" / "xaiva-media", app)
        init = app / "src" / "xaiva_media" / "__init__.py"
        times = []
        for i in range(3):
            init.write_text(f'"""bench edit {i} {time.time()}"""\nGREETING = "xaiva-media bench {i}"\n')
            times.append(_timed(INV, "build", "--preset", preset, "--app-src", str(app), "--tag", f"airlock-bench/{preset}:code"))
        code = sorted(times)[1]
    out.append(("cold build (deps + app)", f"{cold:.1f} s", "-", ""))
    out.append(("code-only rebuild (median of 3)", f"{code:.1f} s", "<= 5 s", "ok" if code <= 5 else "MISS"))
    ratio = cold / code if code and cold == cold else float("nan")
    out.append(("cold / code-only", f"{ratio:.0f}x", ">= 30x", "ok" if ratio >= 30 else ("-" if ratio != ratio else "MISS")))

    rep = json.loads(_run(INV, "report", "--preset", preset, "--json"))
    size, base, payload = rep["size"], rep["base_size"], rep["payload_total"]
    over = 100.0 * (size - base - payload) / (base + payload)
    out.append(("runtime image", f"{size / 1e6:.0f} MB", "-", ""))
    out.append(("base + payload", f"{(base + payload) / 1e6:.0f} MB", "-", ""))
    out.append(("runtime vs base + payload", f"{over:+.1f} %", "<= +3 %", "ok" if over <= 3 else "MISS"))

    naive = naive_size(preset)
    saving = 100.0 * (1 - size / naive)
    out.append(("naive single-stage image", f"{naive / 1e6:.0f} MB", "-", ""))
    out.append(("runtime smaller than naive by", f"{saving:.0f} %", ">= 30 %", "ok" if saving >= 30 else "MISS"))
    return out


def naive_size(preset: str) -> int:
    """Build bench/naive.Dockerfile from the deps context + the app; return its size."""
    deps = ROOT / ".airlock" / "build" / preset / "deps"
    if not deps.is_dir():
        raise SystemExit(f"{deps} missing: run inv build --preset {preset} first")
    ctx = ROOT / ".airlock" / "build" / preset / "naive"
    if ctx.exists():
        shutil.rmtree(ctx)
    shutil.copytree(deps, ctx, copy_function=os.link)
    shutil.copytree(ROOT / "examples" / "xaiva-media", ctx / "app")
    base = json.loads(_run(INV, "presets", "--show", preset))
    from airlock.images import base_image  # noqa: PLC0415
    from airlock.presets import parse_preset  # noqa: PLC0415

    ref = base_image(parse_preset(base, preset), "builder").ref
    env_client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
    subprocess.run(
        [env_client, "build", "--network=none", "-f", str(ROOT / "bench" / "naive.Dockerfile"),
         "--build-arg", f"BUILDER_IMAGE={ref}", "--build-arg", f"PYTHON_VERSION={base['python']['version']}",
         "-t", f"airlock-bench/{preset}:naive", str(ctx)],
        check=True, capture_output=True, env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    return int(_docker("image", "inspect", "--format", "{{.Size}}", f"airlock-bench/{preset}:naive").strip())



if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="debian12-cpu-py3.11")
    ap.add_argument("--skip-cold", action="store_true")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_verify import render  # noqa: PLC0415

    print(render(rows(a.preset, a.skip_cold)))
