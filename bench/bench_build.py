"""Benchmark: cold build vs code-only rebuild, and runtime size vs base + payload and vs naive.

    .venv/bin/python bench/bench_build.py [--preset debian12-cpu-py3.11] [--skip-cold] [--size-only]

Needs a synced store (inv sync --preset X) and the engine. The cold build removes the
preset's deps images and prunes the build cache first, so it really compiles
everything (FFmpeg included). ``--size-only`` skips the cold build and the code-only
rebuilds: it builds the runtime image when missing, then compares sizes. Targets
(issue 4): code-only rebuild <= 5 s and <= 1/30 of the cold build; runtime <= base +
payload + 3 %, and >= 30 % smaller than the naive single-stage build in
bench/naive.Dockerfile.

The naive image is built from the very inputs `inv build` uses (its deps context, as
:func:`airlock.build.gather_build` lists it, plus the app tree and build command), so it
compiles the same FFmpeg (OpenCV, TensorRT) from the same archives with the same flags;
both images must answer ``ffmpeg -version`` with the same output (version, configure flags,
library versions), or the comparison is refused.
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
# the inv beside the interpreter running the bench (.venv/bin/inv in a clone; a worktree may borrow another venv)
INV = str(Path(sys.executable).parent / "inv")


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


def rows(preset: str = "debian12-cpu-py3.11", skip_cold: bool = False, size_only: bool = False) -> list[tuple[str, str, str, str]]:
    """(metric, value, target, verdict) rows."""
    out: list[tuple[str, str, str, str]] = []
    tag = f"airlock/{preset}:runtime"
    if not size_only:
        out += _build_rows(preset, skip_cold)
    if not _docker("images", "-q", tag).strip():
        _run(INV, "build", "--preset", preset, "--target", "runtime")
    return out + size_rows(preset, tag)


def _build_rows(preset: str, skip_cold: bool) -> list[tuple[str, str, str, str]]:
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
    if not _docker("images", "-q", tag).strip():
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
    return out


def size_rows(preset: str, tag: str) -> list[tuple[str, str, str, str]]:
    """Runtime image against base + payload and against the naive build, both checked with ffmpeg -version."""
    out: list[tuple[str, str, str, str]] = []
    rep = json.loads(_run(INV, "report", "--preset", preset, "--json"))
    size, base, payload = rep["size"], rep["base_size"], rep["payload_total"]
    over = 100.0 * (size - base - payload) / (base + payload)
    out.append(("runtime image", f"{size / 1e6:.0f} MB", "-", ""))
    out.append(("base + payload", f"{(base + payload) / 1e6:.0f} MB", "-", ""))
    out.append(("runtime vs base + payload", f"{over:+.1f} %", "<= +3 %", "ok" if over <= 3 else "MISS"))

    naive_tag, naive_seconds = build_naive(preset)
    naive = int(_docker("image", "inspect", "--format", "{{.Size}}", naive_tag).strip())
    runtime_ff, naive_ff = ffmpeg_version(tag), ffmpeg_version(naive_tag)
    if runtime_ff != naive_ff:  # version, configure flags and library versions: the same FFmpeg build
        raise SystemExit(f"naive image's FFmpeg differs from the runtime's:\n{naive_ff}\nvs\n{runtime_ff}")
    saving = 100.0 * (1 - size / naive)
    out.append(("naive single-stage build (same inputs, no cache)", f"{naive_seconds:.1f} s", "-", ""))
    out.append(("naive single-stage image", f"{naive / 1e6:.0f} MB", "-", ""))
    out.append(("ffmpeg -version, both images (whole output)", runtime_ff.splitlines()[0], "same", "ok"))
    out.append(("runtime smaller than naive by", f"{saving:.0f} %", ">= 30 %", "ok" if saving >= 30 else "MISS"))
    return out


def ffmpeg_version(tag: str) -> str:
    """``ffmpeg -version`` run offline in ``tag``: version, configuration, library versions (fails the benchmark when it does not run)."""
    return _docker("run", "--rm", "--network=none", "--entrypoint", "ffmpeg", tag, "-version").strip()


def build_naive(preset: str) -> tuple[str, float]:
    """Build bench/naive.Dockerfile from the deps context + the app, with no cache; return (tag, seconds)."""
    sys.path.insert(0, str(ROOT))
    from airlock import build as b  # noqa: PLC0415
    from airlock.presets import load_preset  # noqa: PLC0415
    from airlock.project import Project  # noqa: PLC0415

    project = Project(ROOT)
    p = load_preset(project, preset)
    facts = b.gather_build(project, p, target="runtime", query_engine=False)
    files = dict(facts.deps_files)
    files.update({k: v for k, v in facts.app_files.items() if k.startswith("app/") or k == "config/app-build.txt"})
    files.pop("Dockerfile")
    ctx = ROOT / ".airlock" / "build" / preset / "naive"
    if ctx.exists():
        shutil.rmtree(ctx)
    b._materialize(ctx, files)
    tag = f"airlock-bench/{preset}:naive"
    client = "/usr/bin/docker" if Path("/usr/bin/docker").exists() else "docker"
    t0 = time.monotonic()
    proc = subprocess.run(
        [client, "build", "--network=none", "--no-cache", "--progress=plain", "-f", str(ROOT / "bench" / "naive.Dockerfile"),
         "--build-arg", f"BUILDER_IMAGE={facts.base_refs['builder']}", "--build-arg", f"PYTHON_VERSION={p.python.version}",
         "-t", tag, str(ctx)],
        capture_output=True, text=True, env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"naive build failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return tag, time.monotonic() - t0


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="debian12-cpu-py3.11")
    ap.add_argument("--skip-cold", action="store_true")
    ap.add_argument("--size-only", action="store_true", help="only the size comparison (builds the runtime image when missing)")
    a = ap.parse_args()
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_verify import render  # noqa: PLC0415

    print(render(rows(a.preset, a.skip_cold, a.size_only)))
