"""The Docker engine: which client and builder this machine offers, and thin calls.

Builder choice (decided once, said aloud by ``inv build``):

==============================================  ===========================================
machine offers                                   airlock uses
==============================================  ===========================================
``AIRLOCK_DOCKER=/path/to/docker``               that client (its BuildKit support is probed)
a client with the buildx plugin                  ``docker buildx build --load``
a client < 23 (built-in BuildKit)                ``DOCKER_BUILDKIT=1 docker build``
another client < 23 on the machine               that one (e.g. Debian's ``/usr/bin/docker``)
only the legacy builder                          error: BuildKit is needed for bind/secret
                                                 mounts (no silent fallback)
==============================================  ===========================================
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from packaging.version import InvalidVersion, Version

from airlock.errors import ExternalError
from airlock.runner import run

CANDIDATES = ("docker", "/usr/bin/docker", "/usr/local/bin/docker")


@dataclass(frozen=True)
class Builder:
    client: str  # path of the docker client
    kind: str  # "buildx" | "builtin-buildkit"
    client_version: str
    server_version: str

    def describe(self) -> str:
        how = "buildx plugin" if self.kind == "buildx" else "the daemon's built-in BuildKit (DOCKER_BUILDKIT=1)"
        return f"{self.client} {self.client_version} -> engine {self.server_version}, {how}"

    def build_argv(self) -> list[str]:
        if self.kind == "buildx":
            return [self.client, "buildx", "build", "--load"]
        return [self.client, "build"]

    @property
    def env(self) -> dict[str, str]:
        return {"DOCKER_BUILDKIT": "1"} if self.kind == "builtin-buildkit" else {}


def _version(client: str) -> tuple[str, str] | None:
    proc = run([client, "version", "--format", "{{json .}}"], check=False, timeout=30)
    if proc.returncode != 0:
        return None
    try:
        data = json.loads(proc.stdout)
    except json.JSONDecodeError:
        return None
    client_v = (data.get("Client") or {}).get("Version", "0")
    server_v = (data.get("Server") or {}).get("Version", "")
    return client_v, server_v


def _major(v: str) -> int:
    try:
        return Version(v.split("+")[0].split("-")[0]).major
    except InvalidVersion:
        return 0


@lru_cache(maxsize=1)
def detect_builder() -> Builder:
    """Find a client that builds with BuildKit, or fail saying what is missing."""
    override = os.environ.get("AIRLOCK_DOCKER")
    candidates = [override] if override else []
    candidates += [c for c in CANDIDATES if c not in candidates]
    seen: set[str] = set()
    tried: list[str] = []
    for cand in candidates:
        path = shutil.which(cand) if cand else None
        if not path or os.path.realpath(path) in seen:
            if override and cand == override and not path:
                raise ExternalError(f"AIRLOCK_DOCKER={override}: no such executable")
            continue
        seen.add(os.path.realpath(path))
        ver = _version(path)
        if ver is None:
            tried.append(f"{path}: engine not answering")
            continue
        client_v, server_v = ver
        if not server_v:
            tried.append(f"{path}: no engine")
            continue
        if run([path, "buildx", "version"], check=False, timeout=30).returncode == 0:
            return Builder(path, "buildx", client_v, server_v)
        if _major(client_v) < 23:
            return Builder(path, "builtin-buildkit", client_v, server_v)
        tried.append(f"{path} {client_v}: no buildx plugin, and clients >= 23 need it for BuildKit")
        if override:
            break
    detail = "; ".join(tried) or "no docker client found"
    raise ExternalError(
        f"no Docker client with BuildKit ({detail}); install the buildx plugin or Debian's docker.io "
        "(its 20.10 client drives the daemon's built-in BuildKit), or point AIRLOCK_DOCKER at one; run ./bootstrap.sh setup"
    )


def client() -> str:
    """A docker client for plain engine calls (run, inspect, load, save)."""
    return detect_builder().client


def image_id(ref: str) -> str | None:
    proc = run([client(), "image", "inspect", "--format", "{{.Id}}", ref], check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def gpu_runtime() -> str | None:
    """How this engine would give a container the GPUs (``--gpus all``), or None when it cannot.

    ``--gpus`` works where dockerd has the NVIDIA runtime registered or finds the NVIDIA
    container toolkit's hook on its PATH; the daemon decides, so ask it (its runtimes) and
    look for the hook the toolkit installs.
    """
    proc = run([client(), "info", "--format", "{{json .Runtimes}}"], check=False)
    if proc.returncode == 0 and "nvidia" in (proc.stdout or ""):
        return "the engine's nvidia runtime"
    for hook in ("nvidia-container-runtime-hook", "nvidia-container-toolkit"):
        found = shutil.which(hook)
        if found:
            return found
    return None


def image_exists(ref: str) -> bool:
    return image_id(ref) is not None


def inspect_image(ref: str) -> dict:  # type: ignore[type-arg]
    proc = run([client(), "image", "inspect", ref])
    return json.loads(proc.stdout)[0]


def load(tar: Path) -> str:
    proc = run([client(), "load", "-i", str(tar)])
    return proc.stdout.strip()


def save(ref: str, dest: Path) -> None:
    run([client(), "save", "-o", str(dest), ref])


def tag(src: str, dst: str) -> None:
    run([client(), "tag", src, dst])


def remove_image(ref: str) -> None:
    run([client(), "image", "rm", "-f", ref], check=False)


def container_run(
    image: str,
    argv: Sequence[str],
    *,
    mounts: Mapping[Path, str] = {},
    network: str = "bridge",
    env: Mapping[str, str] = {},
    platform: str | None = None,
    stream: bool = False,
) -> str:
    """``docker run --rm`` with bind mounts ``{host_path: container_path}``; returns stdout."""
    cmd = [client(), "run", "--rm", f"--network={network}"]
    if platform:
        cmd += ["--platform", platform]
    for host, inside in mounts.items():
        cmd += ["-v", f"{host}:{inside}"]
    for k, v in env.items():
        cmd += ["-e", f"{k}={v}"]
    cmd += [image, *argv]
    return run(cmd, stream=stream).stdout
