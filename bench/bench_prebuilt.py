"""Benchmark: a site build with prebuilt FFmpeg/OpenCV vs compiling them, side by side in one run.

    .venv/bin/python bench/bench_prebuilt.py [--preset debian12-cpu-py3.11]

Needs a synced store (inv sync --preset X) and the engine. First ``inv prebuild`` on the main
engine (it reuses the compiled deps images when they exist), so the store holds the parts under
their current keys. Then ``inv build --preset X`` twice, each on a fresh dockerd of its own with
no image and no build cache, as on a site's machine (``isolated_dockerd`` of
tests/integration/conftest.py): once with ``--no-prebuilt`` (compiling), once taking the
prebuilt parts. Both start from the same store and load the same base tarball; the figures are
wall-clock seconds of the whole ``inv build`` (verify, base load, deps and app builds). Prints
both, the ratio, the archives' size, whether BuildKit ran a compile step in each, and whether
the two runtime images hold the same /opt/ffmpeg and /opt/opencv (every path, type, size, mode,
owner, link target and file sha256).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INV = str(Path(sys.executable).parent / "inv")


def _inv(*args: str, env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.monotonic()
    proc = subprocess.run([INV, *args], cwd=ROOT, capture_output=True, text=True, env=env, timeout=4 * 3600)
    took = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"inv {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}")
    return took, proc


#: every entry under /opt/ffmpeg and /opt/opencv of the runtime image: path, type, size, mode, owner, link target;
#: then every file's sha256 (what the two site builds must agree on)
LIST_OPT = ("cd /opt && set -- $(ls -d ffmpeg opencv 2>/dev/null) && find \"$@\" -printf '%p %y %s %m %U:%G %l\\n' | sort"
            " && find \"$@\" -type f -print0 | sort -z | xargs -0 sha256sum")


def _site_build(preset: str, *extra: str) -> tuple[float, str, str, str]:
    """(seconds, the plan's parts line, compile steps BuildKit ran, the runtime's /opt listing) of ``inv build`` on a fresh engine."""
    sys.path.insert(0, str(ROOT))
    from tests.integration.conftest import isolated_dockerd

    with isolated_dockerd() as engine:
        took, proc = _inv("build", "--preset", preset, *extra, env=engine.env())
        listing = engine.docker("run", "--rm", "--network=none", "--entrypoint", "/bin/sh", f"airlock/{preset}:runtime", "-c", LIST_OPT)
    parts = next((ln.split(None, 1)[1] for ln in proc.stdout.splitlines() if ln.startswith("parts ")), "?")
    compiled = sorted({s for s in ("build-ffmpeg", "build-opencv") if f"/airlock/scripts/{s} " in proc.stderr})
    return took, parts, ", ".join(compiled) or "none", listing


def rows(preset: str = "debian12-cpu-py3.11") -> list[tuple[str, str, str, str]]:
    """(metric, value, target, verdict) rows."""
    _inv("prebuild", "--preset", preset)
    store = ROOT / "artifacts" / preset
    entries = json.loads((store / "manifest.json").read_text())["entries"]
    archives = [e for e in entries if e["kind"] == "prebuilt"]
    size = sum(e["size"] for e in archives)
    t_compile, parts_c, ran_c, opt_c = _site_build(preset, "--no-prebuilt")
    t_prebuilt, parts_p, ran_p, opt_p = _site_build(preset)
    ratio = t_compile / t_prebuilt if t_prebuilt else float("inf")
    files = sum(1 for ln in opt_c.splitlines() if " f " in ln)
    same = "identical" if opt_c == opt_p else f"DIFFER ({len(set(opt_c.splitlines()) ^ set(opt_p.splitlines()))} lines)"
    return [
        ("prebuilt archives in the store", f"{len(archives)}, {size / 1e6:.1f} MB", "", ""),
        ("site build, compiling (--no-prebuilt)", f"{t_compile:.1f} s", "", f"parts {parts_c}; compile steps run: {ran_c}"),
        ("site build, prebuilt parts", f"{t_prebuilt:.1f} s", "", f"parts {parts_p}; compile steps run: {ran_p}"),
        ("compiling / prebuilt", f"{ratio:.1f}x", "> 1", "ok" if ratio > 1 and ran_p == "none" else "MISS"),
        ("prebuilt / compiling", f"{100 / ratio:.0f} %", "<= 10 %", "ok" if 100 / ratio <= 10 else "MISS"),
        ("runtime /opt/ffmpeg and /opt/opencv", f"{files} files, {same}", "identical", "ok" if opt_c == opt_p else "MISS"),
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="debian12-cpu-py3.11")
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_verify import render  # type: ignore[import-not-found]

    print(render(rows(ap.parse_args().preset)))
