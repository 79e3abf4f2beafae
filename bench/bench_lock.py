"""Lock benchmark: how long ``inv lock`` takes and how much it downloads.

Run from the project folder::

    .venv/bin/python bench/bench_lock.py [--with-pip-tools] [--json]

Each case times what ``inv lock`` does for a preset, short of writing: the engine's
resolve, then the sdist-only check (one index listing per pin, and for a pin that ships
only an sdist the build-deps resolve; :func:`airlock.lock.build_deps.resolve_build_deps`).
The table shows the whole and that check's share. Cold starts with airlock's own cache
empty too (``$AIRLOCK_CACHE_DIR`` in the temp folder), warm keeps it.

Cases (each resolves with no existing lock, so nothing is merely kept):

* ``ubuntu22.04-cuda12.1-torch2.3`` (torch 2.3.1 + CUDA wheels, 43 pins) with uv:
  cold (an empty ``--cache-dir`` in a temp folder) and warm (the same cache again).
  Targets: cold <= 15 s, warm <= 2 s, <= 50 MB downloaded.
* the demo preset ``debian12-cpu-py3.11`` with uv and with pip-tools, cold and warm.

uv's warm figure is the median of three runs; pip-tools' is one.
* pip-tools for the torch preset only with ``--with-pip-tools``: it downloads every
  distribution file to hash it (measured 7 min 19 s and ~14 GB on this project's machine;
  docs/build-guide.md, "Why uv is the default lock engine").
  It runs under this cp311/glibc-2.36 host for a glibc-2.35 target, which ``inv
  lock`` refuses; the benchmark bypasses that check to measure the cost only.

Bytes downloaded are measured two ways. ``net`` (the figure judged against the
target) is the growth of the received-bytes counters of every non-loopback
interface in ``/proc/net/dev`` during the run: what actually came over the wire,
but for the whole machine, so anything else receiving at the same time adds to it
(an upper bound; run the benchmark on a quiet machine). ``cache`` is the size of the
engine's temp cache folder afterwards: what the child kept, not what it fetched
(pip-tools keeps nothing, so it reads 0 although it downloads every file).

On this project's machines (docs/build-guide.md, "Machines and engines") a warm uv run downloads about as much as a cold
one: PyPI's responses reach them through a proxy that drops ``Cache-Control`` and
``ETag``, so uv must re-fetch every project page (``Sending revalidation request``
and a full 200 back); only the wheel metadata comes from the cache. On a normal
connection the warm figure is a few kB.

:func:`bench_rows` returns the measurements so ``inv bench`` can reuse them;
:func:`render` prints the table with targets and ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from airlock.lock import LockStep, PipToolsEngine, UvEngine, build_lock, gather, plan_lock  # noqa: E402
from airlock.lock.build_deps import resolve_build_deps  # noqa: E402
from airlock.render import mb  # noqa: E402
from airlock.render import table as render_table  # noqa: E402
from airlock.project import Project  # noqa: E402

TORCH_PRESET = "ubuntu22.04-cuda12.1-torch2.3"
DEMO_PRESET = "debian12-cpu-py3.11"
TARGETS = {("uv", TORCH_PRESET, "cold"): 15.0, ("uv", TORCH_PRESET, "warm"): 2.0}
BYTES_TARGET = 50_000_000
PIP_TOOLS_NOT_RUN = "pip-tools: not run (opt-in; measured once at 7 min 19 s, ~14 GB: docs/build-guide.md)"


@dataclass(frozen=True)
class Row:
    preset: str
    engine: str
    cache: str  # "cold" | "warm"
    seconds: float
    pins: int
    hashes: int
    cache_bytes: int
    net_bytes: int | None
    target_seconds: float | None = None
    target_bytes: int | None = None
    note: str = ""
    pin_set: tuple[tuple[str, str, tuple[str, ...]], ...] = ()
    sdist_seconds: float = 0.0  # of ``seconds``: the sdist-only check after the resolve

    @property
    def downloaded(self) -> int:
        """Bytes received: the interface counters when readable, else the cache size."""
        return self.net_bytes if self.net_bytes is not None else self.cache_bytes

    @property
    def ok(self) -> bool | None:
        if self.target_seconds is None:
            return None
        fits = self.seconds <= self.target_seconds
        if self.target_bytes is not None:
            fits = fits and self.downloaded <= self.target_bytes
        return fits


def _rx_bytes() -> int | None:
    try:
        lines = Path("/proc/net/dev").read_text().splitlines()[2:]
    except OSError:
        return None
    total = 0
    for line in lines:
        iface, _, data = line.partition(":")
        if iface.strip() != "lo":
            total += int(data.split()[0])
    return total


def _du(path: Path) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(root, f)).st_size
            except OSError:
                pass
    return total


def _step(project: Project, name: str) -> LockStep:
    (step,) = plan_lock(gather(project, [name])).steps
    return step


def _measure(project: Project, name: str, engine_name: str, cache: Path, label: str, note: str = "") -> Row:
    engine = UvEngine() if engine_name == "uv" else PipToolsEngine()
    version = engine.version()
    step = _step(project, name)
    rx0, t0 = _rx_bytes(), time.monotonic()
    lock = build_lock(step, engine, version, existing=None, upgrade=False, cache_dir=cache)
    t1 = time.monotonic()
    resolve_build_deps(lock, step.item.target, engine, version, cache_dir=cache)
    seconds = time.monotonic() - t0
    sdist_seconds = time.monotonic() - t1
    rx1 = _rx_bytes()
    target = TARGETS.get((engine_name, name, label))
    return Row(
        preset=name,
        engine=version,
        cache=label,
        seconds=seconds,
        pins=len(lock.pins),
        hashes=lock.hash_count,
        cache_bytes=_du(cache),
        net_bytes=None if rx0 is None or rx1 is None else rx1 - rx0,
        target_seconds=target,
        target_bytes=BYTES_TARGET if (target is not None and label == "cold") else None,
        note=note,
        pin_set=tuple((p.key, p.version, p.hashes) for p in lock.pins),
        sdist_seconds=sdist_seconds,
    )


def _cold_and_warm(project: Project, name: str, engine: str, note: str = "", warm_runs: int = 1) -> list[Row]:
    """One cold run on empty caches (the engine's, and airlock's pins-with-wheels), then the median (by time) of ``warm_runs`` on them."""
    with tempfile.TemporaryDirectory(prefix=f"airlock-bench-{engine}-") as tmp:
        cache = Path(tmp) / "engine"
        saved = os.environ.get("AIRLOCK_CACHE_DIR")
        os.environ["AIRLOCK_CACHE_DIR"] = str(Path(tmp) / "airlock")
        try:
            cold = _measure(project, name, engine, cache, "cold", note)
            warm = sorted((_measure(project, name, engine, cache, "warm", note) for _ in range(warm_runs)), key=lambda r: r.seconds)
        finally:
            if saved is None:
                os.environ.pop("AIRLOCK_CACHE_DIR", None)
            else:
                os.environ["AIRLOCK_CACHE_DIR"] = saved
    if warm_runs > 1:
        mid = warm[len(warm) // 2]
        warm = [Row(**{**asdict(mid), "note": (mid.note + "; " if mid.note else "") + f"median of {warm_runs}"})]
    return [cold, warm[0]]


def bench_rows(project: Project | None = None, *, with_pip_tools: bool = False) -> list[Row]:
    """Measure every case; the torch preset with pip-tools only when asked."""
    project = project or Project.here()
    rows = _cold_and_warm(project, TORCH_PRESET, "uv", warm_runs=3)
    if with_pip_tools:
        rows += _cold_and_warm(project, TORCH_PRESET, "pip-tools", note="cost only: host glibc 2.36 is not the target's 2.35")
    rows += _cold_and_warm(project, DEMO_PRESET, "uv", warm_runs=3)
    rows += _cold_and_warm(project, DEMO_PRESET, "pip-tools")
    return rows


def _mb(n: int | None) -> str:
    return "-" if n is None else mb(n)


def render(rows: list[Row], *, with_pip_tools: bool = False) -> str:
    head = ("preset", "engine", "cache", "seconds", "of it sdist check", "target", "pins", "hashes", "net", "cache", "ok", "note")
    table = [head]
    for r in rows:
        target = "-" if r.target_seconds is None else f"<= {r.target_seconds:g} s" + (f", <= {r.target_bytes / 1e6:g} MB" if r.target_bytes else "")
        ok = {None: "-", True: "yes", False: "NO"}[r.ok]
        table.append((r.preset, r.engine, r.cache, f"{r.seconds:.2f}", f"{r.sdist_seconds:.2f}", target, str(r.pins), str(r.hashes), _mb(r.net_bytes), _mb(r.cache_bytes), ok, r.note))
    lines = [render_table(table), ""]
    by = {(r.preset, r.engine.split()[0], r.cache): r for r in rows}
    for preset in (TORCH_PRESET, DEMO_PRESET):
        uv_c, uv_w = by.get((preset, "uv", "cold")), by.get((preset, "uv", "warm"))
        pt_c, pt_w = by.get((preset, "pip-tools", "cold")), by.get((preset, "pip-tools", "warm"))
        if uv_c and uv_w:
            lines.append(f"{preset}: uv cold/warm = {uv_c.seconds / uv_w.seconds:.1f}x")
        if uv_c and pt_c:
            same = "same" if uv_c.pin_set == pt_c.pin_set else "DIFFERENT"
            lines.append(
                f"{preset}: pip-tools/uv = {pt_c.seconds / uv_c.seconds:.1f}x cold, "
                + (f"{pt_w.seconds / uv_w.seconds:.1f}x warm" if pt_w and uv_w else "-")
                + f"; pins and hashes: {same}"
            )
        elif preset == TORCH_PRESET and not with_pip_tools:
            lines.append(f"{preset}: {PIP_TOOLS_NOT_RUN}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--with-pip-tools", action="store_true", help="also lock the torch preset with pip-tools (~14 GB, ~7 min)")
    ap.add_argument("--json", action="store_true", help="print the rows as JSON instead of the table")
    ap.add_argument("--project", default=None, help="the project folder (default: the current one)")
    args = ap.parse_args(argv)
    rows = bench_rows(Project.here(args.project), with_pip_tools=args.with_pip_tools)
    if args.json:
        print(json.dumps([{k: v for k, v in asdict(r).items() if k != "pin_set"} for r in rows], indent=2))
    else:
        print(render(rows, with_pip_tools=args.with_pip_tools))
    return 0 if all(r.ok is not False for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
