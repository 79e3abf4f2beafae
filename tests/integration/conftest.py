"""Integration fixtures: the demo preset synced and built once per session, for real."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import DEMO, REPO, inv


def _ok(proc: subprocess.CompletedProcess[str], what: str) -> subprocess.CompletedProcess[str]:
    assert proc.returncode == 0, f"{what} failed ({proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    return proc


def _prune_context_copies() -> None:
    subprocess.run(["docker", "builder", "prune", "-f", "--filter", "type=source.local"], capture_output=True, timeout=600)


@pytest.fixture(scope="session", autouse=True)
def _no_stale_context_copies() -> Iterator[None]:
    """Drop BuildKit's copies of earlier build contexts, before and after the session.

    BuildKit keeps each context it was sent (``source.local`` records) in its cache. Every test
    builds from a fresh folder, so each run adds a copy of every deps context (the CUDA preset's
    holds ~4.3 GB of wheels and .debs) that no later build reuses; on a 2-core CI machine with
    ~100 GB of disk a few runs filled it. The compiled layers (``regular`` records) stay.
    """
    _prune_context_copies()
    yield
    _prune_context_copies()


@pytest.fixture(scope="session")
def synced_demo() -> Path:
    """`inv sync` of the demo preset into the repository's own artifacts/ (reused after).

    The committed system lock pins Debian's archive as it was; when Debian has since dropped a pinned
    version or moved the base, sync says to re-lock. Then the fixture re-locks the system part (what a
    user does; ``git diff locks/`` shows it, to be committed) and syncs again, with a note on stderr, so the
    other tests are not red because Debian published a point release.
    """
    proc = inv(REPO, "sync", "--preset", DEMO)
    if proc.returncode != 0 and f"inv lock --preset {DEMO} --only system" in proc.stderr:
        print(f"note: the committed system lock of {DEMO} no longer fits Debian's archive; re-locked it: {proc.stderr.strip()[:300]}", file=sys.stderr)
        _ok(inv(REPO, "lock", "--preset", DEMO, "--only", "system", "--upgrade"), "inv lock --only system --upgrade")
        proc = inv(REPO, "sync", "--preset", DEMO)
    _ok(proc, "inv sync")
    return REPO / "artifacts" / DEMO


@pytest.fixture(scope="session")
def built_demo(synced_demo: Path) -> str:
    """`inv build --target runtime` of the demo preset; returns the image tag."""
    _ok(inv(REPO, "build", "--preset", DEMO, "--target", "runtime"), "inv build")
    return f"airlock/{DEMO}:runtime"


@dataclass(frozen=True)
class Engine:
    """A Docker engine of the test's own: ``host`` goes in DOCKER_HOST for every process that must use it."""

    host: str

    def docker(self, *args: str) -> str:
        return subprocess.run(["docker", "-H", self.host, *args], check=True, capture_output=True, text=True).stdout

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host}


@pytest.fixture
def isolated_engine() -> Iterator[Engine]:
    """A second dockerd with no image and no build cache (see :func:`isolated_dockerd`), for one test."""
    with isolated_dockerd() as engine:
        yield engine


@contextlib.contextmanager
def isolated_dockerd() -> Iterator[Engine]:
    """A second dockerd with its own data root, exec root and socket, in a network namespace of its own and with no
    bridge: it starts with no image and no build cache, and the main engine (and its cache, which the other tests
    rely on) is never touched. Stopped and removed afterwards.

    The namespace matters: a dockerd started with ``--bridge=none`` deletes the ``docker0`` interface it finds, which
    in the host's namespace is the main engine's bridge (every later ``docker run`` then fails).
    """
    bridge = Path("/sys/class/net/docker0")
    had_bridge = bridge.exists()
    root = Path(tempfile.mkdtemp(prefix="airlock-engine-", dir="/var/lib"))
    sock = f"unix://{root}/docker.sock"
    log = open(root / "dockerd.log", "wb")
    proc = subprocess.Popen(
        ["unshare", "--net", "--", "dockerd", "--data-root", str(root / "data"), "--exec-root", str(root / "x"), "--pidfile", str(root / "dockerd.pid"),
         "-H", sock, "--bridge=none", "--iptables=false", "--ip-masq=false"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 90
        while subprocess.run(["docker", "-H", sock, "info"], capture_output=True).returncode != 0:
            assert proc.poll() is None and time.monotonic() < deadline, (root / "dockerd.log").read_text()[-3000:]
            time.sleep(0.5)
        yield Engine(sock)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # dockerd and the containerd it started (its own session)
            proc.wait()
        log.close()
        subprocess.run(["umount", "-R", "-l", str(root)], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
    assert bridge.exists() == had_bridge, "the isolated engine removed the main engine's docker0 bridge"


def docker_json(*args: str) -> object:
    out = subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout
    return json.loads(out)


def docker_out(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def drop_preset_images(name: str) -> None:
    """Remove every ``airlock/<name>:*`` image, so a build must make them anew (and a test leaves none behind)."""
    refs = [r for r in docker_out("images", "--format", "{{.Repository}}:{{.Tag}}").split() if r.startswith(f"airlock/{name}:")]
    if refs:
        subprocess.run(["docker", "image", "rm", "-f", *refs], check=True, capture_output=True)


def offer_demo_wheels(synced_demo: Path, store: Path) -> None:
    """Hard-link the demo's wheels into ``store`` for a preset with the demo's requirement set; sync checks each against the lock."""
    (store / "wheels").mkdir(parents=True)
    for whl in (synced_demo / "wheels").iterdir():
        os.link(whl, store / "wheels" / whl.name)


def opencv_libraries(tag: str, version: str) -> tuple[set[str], dict[str, str], str]:
    """``ldd`` of every ``/opt/opencv/lib/libopencv_*.so.<version>`` in ``tag``, run with no network.

    Returns the library files listed there, module -> its ldd output, and the whole output.
    """
    out = docker_out(
        "run", "--rm", "--network=none", "--entrypoint", "sh", tag, "-c",
        f"cd /opt/opencv/lib && ls && for f in libopencv_*.so.{version}; do echo \"== $f\"; ldd \"$f\"; done",
    )
    libs = {line for line in out.splitlines() if line.startswith("libopencv_") and line.endswith(f".so.{version}")}
    ldd: dict[str, str] = {}
    for block in out.split("== ")[1:]:
        head, _, body = block.partition("\n")
        ldd[head.removeprefix("libopencv_").removesuffix(f".so.{version}")] = body
    return libs, ldd, out


def assert_links_opt_ffmpeg(ldd: str) -> None:
    """``ldd`` output resolves libavcodec, libavformat, libavutil and libswscale in /opt/ffmpeg/lib (the preset's FFmpeg)."""
    for lib in ("libavcodec", "libavformat", "libavutil", "libswscale"):
        assert re.search(rf"{lib}\.so\.\d+ => /opt/ffmpeg/lib/", ldd), ldd


ok = _ok
