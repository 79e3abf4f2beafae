"""Benchmark: verify throughput on a >= 1 GB store, warm, beside `sha256sum -c`.

    .venv/bin/python bench/bench_verify.py [--size-gb 1.0]

Makes a store of random files (a few large, many small) in a temp dir, reads it once
so it is in the page cache, then times airlock's hashing (manifest.hash_files: OpenSSL
via hashlib, one thread per core, 8 MiB reads) and coreutils `sha256sum -c` on the
same files. Target (issue 3): >= 1.5 GB/s on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from airlock import manifest  # noqa: E402


def _make(d: Path, total: int) -> list[Path]:
    files = []
    big = total * 8 // 10
    for i in range(4):
        p = d / f"big{i}.bin"
        with open(p, "wb") as fh:
            left = big // 4
            while left:
                n = min(left, 16 << 20)
                fh.write(os.urandom(n))
                left -= n
        files.append(p)
    small = (total - big) // 200
    for i in range(200):
        p = d / f"small{i:03}.whl"
        p.write_bytes(os.urandom(small))
        files.append(p)
    return files


def rows(size_gb: float = 1.0) -> list[tuple[str, str, str, str]]:
    with tempfile.TemporaryDirectory(prefix="airlock-bench-verify-", dir=os.environ.get("TMPDIR", "/var/tmp")) as tmp:
        d = Path(tmp)
        files = _make(d, int(size_gb * 1e9))
        total = sum(p.stat().st_size for p in files)
        for p in files:  # warm the page cache
            with open(p, "rb") as fh:
                while fh.read(16 << 20):
                    pass
        t0 = time.perf_counter()
        sums = manifest.hash_files(files)
        t_air = time.perf_counter() - t0
        (d / "SHA256SUMS").write_text("".join(f"{v}  {Path(k).name}\n" for k, v in sorted(sums.items())))
        t0 = time.perf_counter()
        subprocess.run(["sha256sum", "-c", "--quiet", "--strict", "SHA256SUMS"], cwd=d, check=True)
        t_cu = time.perf_counter() - t0
    gbs_air, gbs_cu = total / t_air / 1e9, total / t_cu / 1e9
    return [
        ("store size", f"{total / 1e9:.2f} GB ({len(files)} files)", ">= 1 GB", "ok" if total >= 1e9 else "MISS"),
        (f"airlock verify hashing ({os.cpu_count()} cores)", f"{t_air:.2f} s = {gbs_air:.2f} GB/s", ">= 1.5 GB/s", "ok" if gbs_air >= 1.5 else "MISS"),
        ("sha256sum -c", f"{t_cu:.2f} s = {gbs_cu:.2f} GB/s", "-", ""),
        ("airlock / sha256sum", f"{gbs_air / gbs_cu:.1f}x", "-", ""),
    ]


def render(table: list[tuple[str, str, str, str]]) -> str:
    head = ("metric", "value", "target", "")
    w = [max(len(r[i]) for r in [head, *table]) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip() for r in [head, *table])


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-gb", type=float, default=1.0)
    print(render(rows(ap.parse_args().size_gb)))
