"""Benchmark: a site build with prebuilt FFmpeg/OpenCV vs compiling them, side by side in one run.

    .venv/bin/python bench/bench_prebuilt.py [--preset debian12-cpu-py3.11] [--prebuilt-only]

Needs a synced store (inv sync --preset X) and the engine. First ``inv prebuild`` on the main
engine (it reuses the compiled deps images when they exist), so the store holds the parts under
their current keys. Then ``inv build --preset X`` twice, each on a fresh dockerd of its own with
no image and no build cache, as on a site's machine (``isolated_dockerd`` of
tests/integration/conftest.py): once taking the prebuilt parts, once with ``--no-prebuilt``
(compiling). Both start from the same store and load the same base tarball; the figures are
wall-clock seconds of the whole ``inv build`` (verify, base load, deps and app builds).

Prints both, the ratio, the archives' size, whether BuildKit ran a compile step in each, and
the runtime's /opt/ffmpeg and /opt/opencv (every path, type, size, mode, owner, link target and
file sha256) compared with the image the parts were exported from: identical for the prebuilt
build (the promise); for the compiling build the row shows how reproducible a second compile
is (OpenCV writes its build time into its core library), which is not a verdict on prebuilt.
``--prebuilt-only`` skips the compiling build (no ratio).
"""

from __future__ import annotations

import argparse
import json
import re
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


def _files(listing: str) -> dict[str, str]:
    """path -> everything LIST_OPT says of it (its find line, then its sha256 for a file)."""
    out: dict[str, str] = {}
    for ln in listing.splitlines():
        digest, sep, path = ln.partition("  ")
        if sep and len(digest) == 64:
            out[path] = out.get(path, "") + " " + digest
        else:
            out[ln.split(" ", 1)[0]] = ln
    return out


def _compare(a: str, b: str) -> tuple[bool, str]:
    """(identical, a summary naming up to five differing paths)."""
    fa, fb = _files(a), _files(b)
    diff = sorted(p for p in fa.keys() | fb.keys() if fa.get(p) != fb.get(p))
    n = sum(1 for ln in a.splitlines() if " f " in ln)
    if not diff:
        return True, f"{n} files, identical"
    return False, f"{n} files, {len(diff)} differ: {', '.join(diff[:5])}{' ...' if len(diff) > 5 else ''}"


def rows(preset: str = "debian12-cpu-py3.11", prebuilt_only: bool = False) -> list[tuple[str, str, str, str]]:
    """(metric, value, target, verdict) rows."""
    _, pre = _inv("prebuild", "--preset", preset)
    source = re.search(r" from /opt/\S+ of (\S+)", pre.stdout)
    if source is None:
        raise SystemExit(f"inv prebuild did not name the image it exported from:\n{pre.stdout[-2000:]}")
    opt_src = subprocess.run(["docker", "run", "--rm", "--network=none", "--entrypoint", "/bin/sh", source[1], "-c", LIST_OPT],
                             check=True, capture_output=True, text=True).stdout
    store = ROOT / "artifacts" / preset
    entries = json.loads((store / "manifest.json").read_text())["entries"]
    archives = [e for e in entries if e["kind"] == "prebuilt"]
    size = sum(e["size"] for e in archives)
    t_prebuilt, parts_p, ran_p, opt_p = _site_build(preset)
    same_p, said_p = _compare(opt_src, opt_p)
    out = [
        ("prebuilt archives in the store", f"{len(archives)}, {size / 1e6:.1f} MB", "", f"exported from {source[1]}"),
        ("site build, prebuilt parts", f"{t_prebuilt:.1f} s", "", f"parts {parts_p}; compile steps run: {ran_p}"),
        ("its /opt/ffmpeg, /opt/opencv vs the exported image's", said_p, "identical", "ok" if same_p else "MISS"),
    ]
    if prebuilt_only:
        return out
    t_compile, parts_c, ran_c, opt_c = _site_build(preset, "--no-prebuilt")
    ratio = t_compile / t_prebuilt if t_prebuilt else float("inf")
    _, said_c = _compare(opt_src, opt_c)
    return out + [
        ("site build, compiling (--no-prebuilt)", f"{t_compile:.1f} s", "", f"parts {parts_c}; compile steps run: {ran_c}"),
        ("compiling / prebuilt", f"{ratio:.1f}x", "> 1", "ok" if ratio > 1 and ran_p == "none" else "MISS"),
        ("prebuilt / compiling", f"{100 / ratio:.0f} %", "<= 10 %", "ok" if 100 / ratio <= 10 else "MISS"),
        # two compiles of one source need not give the same bytes (OpenCV records its build time)
        ("a second compile's /opt vs the exported image's", said_c, "", "(reproducibility of the compile, not of prebuilt)"),
    ]


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="debian12-cpu-py3.11")
    ap.add_argument("--prebuilt-only", action="store_true", help="only the prebuilt site build and its file check (no compile, no ratio)")
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_verify import render  # type: ignore[import-not-found]

    args = ap.parse_args()
    print(render(rows(args.preset, args.prebuilt_only)))
