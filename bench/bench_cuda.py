"""Benchmark: CUDA once, and the CUDA preset's cold deps build.

    .venv/bin/python bench/bench_cuda.py [--size] [--cold]

``--size`` (default): builds ``ubuntu22.04-cuda12.1-torch2.3`` with ``cuda.runtime: "wheels"``
in a scratch copy of the project: the shipped preset's Python, requirements, torch 2.3.1
(PyPI, cu121 wheels), apt sets and FFmpeg, on a bootstrapped Ubuntu 22.04 instead of
``nvidia/cuda`` images. What cannot be had here is left out and said: TensorRT (NVIDIA's
apt repository) and OpenCV (no CUDA 12 nvcc is reachable, so it would be a CPU build, the
same on either base). It prints the runtime's size beside the same payload on
``nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04``, whose 3.38 GB is the size NVIDIA's
registry publishes (no registry serves it here, so the figure is that image's size, plus
this runtime, less this runtime's own base). Goal: at least 35 % smaller.

``--cold``: the shipped CUDA 11.5 preset (``ubuntu22.04-cuda11.5-torch2.0``) with the lean
OpenCV of tests/integration/test_cuda_e2e.py, built with ``--no-cache``: the deps build's
time and each compile step's (FFmpeg, OpenCV with CUDA), read from BuildKit's log. Tens of
minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the inv beside the interpreter running the bench (.venv/bin/inv in a clone; a worktree may borrow another venv)
INV = str(Path(sys.executable).parent / "inv")
NVIDIA_RUNTIME_BASE = "nvidia/cuda:12.1.1-cudnn8-runtime-ubuntu22.04"
NVIDIA_RUNTIME_BASE_BYTES = 3.38e9  # as published by NVIDIA's registry
SHIPPED = "ubuntu22.04-cuda12.1-torch2.3"
WHEELS = "ubuntu22.04-cuda12.1-torch2.3-wheels"
CUDA115 = "ubuntu22.04-cuda11.5-torch2.0"
CUDA_MODULES = "cudev,core,imgproc,imgcodecs,videoio,cudaarithm,cudaimgproc,cudawarping,python3"


def _run(*argv: str, cwd: Path = ROOT) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_", "AIRLOCK_"))}
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc.stdout


def _site(tmp: Path) -> Path:
    site = tmp / "site"
    shutil.copytree(ROOT, site, symlinks=True, ignore=shutil.ignore_patterns(
        ".git", ".venv", "artifacts", ".airlock", "__pycache__", ".pytest_cache", ".hypothesis"))
    return site


def _jammy() -> dict:  # type: ignore[type-arg]
    sys.path.insert(0, str(ROOT))
    from airlock import compat  # noqa: PLC0415

    return {"suite": "jammy", "mirror": "http://archive.ubuntu.com/ubuntu", "components": ["main", "universe"],
            "suites": ["jammy-updates"], "keyring": compat.OS_FOREIGN_KEYS["ubuntu22.04"]}


def _wheels_preset(site: Path) -> None:
    data = json.loads((ROOT / "presets" / f"{SHIPPED}.json").read_text())
    data.update(
        name=WHEELS,
        description=f"bench: {SHIPPED} with CUDA from the locked wheels only, on a bootstrapped Ubuntu 22.04",
        base={"builder": {"bootstrap": _jammy()}, "runtime": {"bootstrap": _jammy()}},
        cuda=dict(data["cuda"], runtime="wheels"),
        tensorrt=None,
    )
    # OpenCV would be CPU-only here (no CUDA 12 nvcc is reachable) and the same on either base: left out.
    data["opencv"] = None
    (site / "presets" / f"{WHEELS}.json").write_text(json.dumps(data, indent=2) + "\n")


def size_rows() -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        site = _site(Path(tmp))
        _wheels_preset(site)
        _run(INV, "lock", "--preset", WHEELS, cwd=site)
        t0 = time.monotonic()
        _run(INV, "sync", "--preset", WHEELS, cwd=site)
        sync_s = time.monotonic() - t0
        _run(INV, "verify", "--preset", WHEELS, cwd=site)
        t0 = time.monotonic()
        _run(INV, "build", "--preset", WHEELS, "--target", "runtime", cwd=site)
        build_s = time.monotonic() - t0
        tag = f"airlock/{WHEELS}:runtime"
        rep = json.loads(_run(INV, "report", "--preset", WHEELS, "--tag", tag, "--json", cwd=site))
        size, base = rep["size"], rep["base_size"]
        du = _run("docker", "run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c",
                  "du -sb /opt/venv/lib/python3.11/site-packages/nvidia /opt/venv/lib/python3.11/site-packages/torch | cut -f1").split()
        cuda_files = rep["cuda"]
        twice = rep["cuda_twice"]
        on_nvidia = size - base + NVIDIA_RUNTIME_BASE_BYTES
        saving = 100.0 * (1 - size / on_nvidia)
        out += [
            ("preset", f"{WHEELS} (torch 2.3.1 cu121 from PyPI, FFmpeg; no TensorRT, no OpenCV)", "-", ""),
            ("sync (wheels, debs, sources, bootstrap)", f"{sync_s:.0f} s", "-", ""),
            ("build (deps + app, cache as found)", f"{build_s:.0f} s", "-", ""),
            ("runtime image, CUDA from wheels", f"{size / 1e9:.2f} GB", "-", ""),
            ("  of which its base (jammy minbase)", f"{base / 1e9:.2f} GB", "-", ""),
            ("  of which site-packages/nvidia", f"{int(du[0]) / 1e9:.2f} GB", "-", ""),
            ("  of which site-packages/torch", f"{int(du[1]) / 1e9:.2f} GB", "-", ""),
            ("CUDA library files / sonames twice", f"{len(cuda_files)} / {len(twice)}", "0 twice", "ok" if not twice else "MISS"),
            (f"same payload on {NVIDIA_RUNTIME_BASE}", f"{on_nvidia / 1e9:.2f} GB", "-", "published base size"),
            ("CUDA from wheels smaller by", f"{saving:.0f} %", ">= 35 %", "ok" if saving >= 35 else "MISS"),
        ]
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True)
    return out


def _step_times(log: str) -> dict[str, float]:
    """BuildKit plain progress: step description (first 80 chars) -> seconds, for steps that ran."""
    names: dict[str, str] = {}
    out: dict[str, float] = {}
    for line in log.splitlines():
        m = re.match(r"#(\d+) \[([^\]]+)\] (RUN .*)", line)
        if m:
            names.setdefault(m.group(1), f"[{m.group(2)}] {m.group(3)}")
        m = re.match(r"#(\d+) DONE (\d+(?:\.\d+)?)s", line)
        if m and m.group(1) in names:
            out[names[m.group(1)]] = float(m.group(2))
    return out


def cold_rows() -> list[tuple[str, str, str, str]]:
    out: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        site = _site(Path(tmp))
        path = site / "presets" / f"{CUDA115}.json"
        data = json.loads(path.read_text())
        data["opencv"]["dnn"] = False
        data["opencv"]["cmake_flags"] = [f for f in data["opencv"]["cmake_flags"] if not f.startswith(("-DCUDA_ARCH_", "-DOPENCV_DNN_CUDA"))] + [
            "-DCUDA_ARCH_BIN=7.5", "-DCUDA_ARCH_PTX=8.6", f"-DBUILD_LIST={CUDA_MODULES}"]
        path.write_text(json.dumps(data, indent=2) + "\n")
        _run(INV, "sync", "--preset", CUDA115, cwd=site)
        t0 = time.monotonic()
        log = _run(INV, "build", "--preset", CUDA115, "--target", "runtime", "--no-cache", cwd=site)
        total = time.monotonic() - t0
        steps = _step_times(log)
        out.append((f"{CUDA115} cold build, --no-cache (deps + app)", f"{total / 60:.1f} min", "-", ""))
        for name, secs in sorted(steps.items(), key=lambda kv: -kv[1])[:5]:
            part = next((p for p in ("apt-install", "build-ffmpeg", "build-opencv", "pip install") if p in name), name[:60])
            out.append((f"  step: {part}", f"{secs / 60:.1f} min", "-", ""))
        for ref in _run("docker", "images", "--format", "{{.Repository}}:{{.Tag}}").split():
            if ref.startswith(f"airlock/{CUDA115}:"):
                subprocess.run(["docker", "image", "rm", "-f", ref], capture_output=True)
    return out


def render(rows: list[tuple[str, str, str, str]]) -> str:
    sys.path.insert(0, str(ROOT))
    from airlock.render import table  # noqa: PLC0415

    return table([("metric", "value", "target", ""), *rows])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", action="store_true", help="CUDA from wheels vs on nvidia/cuda's runtime base (default)")
    ap.add_argument("--cold", action="store_true", help="the CUDA 11.5 preset's cold deps build (tens of minutes)")
    args = ap.parse_args()
    print(f"# machine: {platform.machine()}, {os.cpu_count()} cores")
    if args.size or not args.cold:
        print(render(size_rows()))
    if args.cold:
        print(render(cold_rows()))


if __name__ == "__main__":
    main()
