"""``inv smoke``: run an image offline and check it is what a runtime image must be.

Checks, each reported by name: every locked top-level package imports; ``ffmpeg
-version`` runs (when the preset builds FFmpeg); the application's smoke command
runs; the default user is not root; no compiler (gcc, g++, cc, c++) is on the image;
no pip cache; no wheel file anywhere; no CUDA library twice (:func:`airlock.report.cuda_twice`).
All run with ``--network=none``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from pathlib import Path

from airlock import compat, docker, gpu_probe, render
from airlock.errors import IntegrityError, NoGpuError
from airlock.presets import Preset
from airlock.runner import run

# Run inside the image by its venv's python: import the top-level names of every
# installed distribution (from top_level.txt, else from RECORD).
_IMPORT_ALL = r"""
import importlib, importlib.metadata as md, json, re, sys
locked = set(json.loads(sys.argv[1]))
norm = lambda n: re.sub(r"[-_.]+", "-", n).lower()
names = set()
for dist in md.distributions():
    if norm(dist.metadata["Name"]) not in locked:
        continue
    top = dist.read_text("top_level.txt")
    cand = top.split() if top else []
    if not cand:
        for f in dist.files or []:
            parts = f.parts
            if len(parts) >= 2 and parts[1] == "__init__.py" and not parts[0].endswith((".dist-info", ".data")):
                cand.append(parts[0])
            elif len(parts) == 1 and parts[0].endswith(".py"):
                cand.append(parts[0][:-3])
    names.update(n for n in cand if n and not n.startswith("_") and "/" not in n)
failed = {}
for n in sorted(names):
    try:
        importlib.import_module(n)
    except Exception as exc:
        failed[n] = f"{type(exc).__name__}: {exc}"
print(json.dumps({"imported": sorted(set(names) - set(failed)), "failed": failed}))
"""

_HYGIENE = r"""
for c in gcc g++ cc c++ clang; do command -v "$c" >/dev/null 2>&1 && echo "compiler:$c"; done
for d in /root/.cache/pip /home/*/.cache/pip /tmp/pip-*; do [ -e "$d" ] && echo "pipcache:$d"; done
find / -xdev -name '*.whl' -not -path '/proc/*' 2>/dev/null | sed 's/^/wheel:/'
[ -d /var/lib/apt/lists ] && ls /var/lib/apt/lists | grep -v -e '^lock$' -e '^partial$' | sed 's/^/aptlist:/'
echo "uid:$(id -u)"
"""


@dataclass
class SmokeReport:
    image: str
    checks: dict[str, str]  # name -> "ok" or the problem
    imported: list[str]

    @property
    def ok(self) -> bool:
        return all(v == "ok" for v in self.checks.values())

    def render(self) -> str:
        lines = [render.table([("check", "result"), *self.checks.items()])]
        lines.append(f"imported: {', '.join(self.imported)}")
        return "\n".join(lines)


def _docker_run(image: str, *args: str, entrypoint: str | None = None, stdin: bytes | None = None, user: str | None = None) -> tuple[int, str]:
    argv = [docker.client(), "run", "--rm", "-i", "--network=none"]
    if entrypoint is not None:
        argv += ["--entrypoint", entrypoint]
    if user is not None:
        argv += ["--user", user]
    argv += [image, *args]
    proc = run(argv, input=stdin, check=False)
    return proc.returncode, (proc.stdout or "") + (proc.stderr or "")


def gpu_smoke(preset: Preset, image: str) -> tuple[int, str]:
    """Run :mod:`airlock.gpu_probe` in ``image`` with every GPU; returns (its exit code, its lines).

    The probe goes in on stdin (nothing is left in the image); its minimum driver is the
    image's ``io.airlock.cuda.min-driver`` label, else the preset's CUDA's.
    """
    if not docker.image_exists(image):
        raise IntegrityError(f"image {image} does not exist; run: inv build --preset {preset.name}")
    how = docker.gpu_runtime()
    if how is None:
        raise NoGpuError(
            f"{image}: this Docker engine cannot give a container the GPUs (no nvidia runtime, no NVIDIA container toolkit); "
            "run inv smoke --gpu on a GPU machine with the toolkit (docs/build-guide.md, GPU checks)"
        )
    labels = (docker.inspect_image(image).get("Config") or {}).get("Labels") or {}
    min_drv = labels.get("io.airlock.cuda.min-driver", "")
    if min_drv in ("", "none"):
        min_drv = compat.preset_min_driver(preset)
    probe = Path(gpu_probe.__file__).read_bytes()
    argv = [docker.client(), "run", "--rm", "-i", "--network=none", "--gpus", "all", "--entrypoint", "/opt/venv/bin/python", image, "-", "--min-driver", min_drv]
    proc = run(argv, input=probe, check=False, timeout=900)
    return proc.returncode, ((proc.stdout or "") + (proc.stderr or "")).rstrip()


def smoke(preset: Preset, image: str, locked: list[str], *, runtime: bool = True) -> SmokeReport:
    """Check ``image``; ``locked`` are the lock's (canonical) project names."""
    if not docker.image_exists(image):
        raise IntegrityError(f"image {image} does not exist; run: inv build --preset {preset.name}")
    checks: dict[str, str] = {}
    code, out = _docker_run(image, "-", json.dumps(sorted(locked)), entrypoint="/opt/venv/bin/python", stdin=_IMPORT_ALL.encode())
    imported: list[str] = []
    if code != 0:
        checks["imports"] = f"python failed (exit {code}): {out.strip().splitlines()[-1:]}"
    else:
        data = json.loads(out.strip().splitlines()[-1])
        imported = data["imported"]
        checks["imports"] = "ok" if not data["failed"] and imported else f"failed: {data['failed'] or 'nothing imported'}"
    if preset.ffmpeg is not None:
        code, out = _docker_run(image, "-version", entrypoint="ffmpeg")
        first = out.strip().splitlines()[0] if out.strip() else ""
        checks["ffmpeg -version"] = "ok" if code == 0 and preset.ffmpeg.version in first else f"exit {code}: {first}"
    if preset.app is not None and preset.app.smoke:
        entry, *rest = preset.app.smoke
        code, out = _docker_run(image, *rest, entrypoint=entry)
        checks["app smoke"] = "ok" if code == 0 else f"exit {code}: {out.strip().splitlines()[-1:] }"
    if runtime:
        from airlock.report import cuda_inventory, cuda_twice

        twice = cuda_twice(cuda_inventory(image))
        checks["CUDA once"] = "ok" if not twice else "twice: " + "; ".join(f"{k} ({', '.join(c.path for c in v)})" for k, v in twice.items())
    code, out = _docker_run(image, "-c", _HYGIENE, entrypoint="/bin/sh")
    found = [line for line in out.splitlines() if ":" in line]
    uid = next((line.split(":", 1)[1] for line in found if line.startswith("uid:")), "?")
    if runtime:
        checks["non-root user"] = "ok" if uid not in ("0", "?") else f"runs as uid {uid}"
        for kind, label in (("compiler", "no compilers"), ("pipcache", "no pip cache"), ("wheel", "no wheel files"), ("aptlist", "no apt lists")):
            hits = [line.split(":", 1)[1] for line in found if line.startswith(kind + ":")]
            checks[label] = "ok" if not hits else f"found {', '.join(hits[:5])}"
    return SmokeReport(image, checks, imported)
