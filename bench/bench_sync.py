"""Benchmark: a no-op `inv sync` of an already synced preset (target <= 1 s, 0 bytes).

    .venv/bin/python bench/bench_sync.py [--preset debian12-cpu-py3.11]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# the inv beside the interpreter running the bench (.venv/bin/inv in a clone; a worktree may borrow another venv)
INV = str(Path(sys.executable).parent / "inv")


def rows(preset: str = "debian12-cpu-py3.11", runs: int = 5) -> list[tuple[str, str, str, str]]:
    subprocess.run([INV, "sync", "--preset", preset], cwd=ROOT, check=True, capture_output=True)
    times, fetched = [], []
    for _ in range(runs):
        t0 = time.perf_counter()
        out = subprocess.run([INV, "sync", "--preset", preset], cwd=ROOT, check=True, capture_output=True, text=True).stdout
        times.append(time.perf_counter() - t0)
        m = re.search(r"^downloaded (\d+) bytes$", out, re.M)
        fetched.append(int(m.group(1)) if m else -1)
    med = sorted(times)[len(times) // 2]
    return [
        (f"no-op sync ({preset}, median of {runs}, whole inv process)", f"{med:.2f} s", "<= 1 s", "ok" if med <= 1 else "MISS"),
        ("bytes fetched by no-op syncs", str(max(fetched)), "0", "ok" if max(fetched) == 0 else "MISS"),
    ]


if __name__ == "__main__":
    from bench_verify import render  # type: ignore[import-not-found]

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="debian12-cpu-py3.11")
    print(render(rows(ap.parse_args().preset)))
