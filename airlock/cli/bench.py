"""``inv bench``: the benchmark table (lock, no-op sync, verify, build, size)."""

from __future__ import annotations

import sys

from invoke import task

from airlock.cli._boundary import boundary, project


@task(
    help={
        "preset": "preset for the sync/build figures (default debian12-cpu-py3.11; must be synced)",
        "skip-cold": "skip the cold build (it prunes the build cache and recompiles everything)",
        "with-pip-tools": "also lock the torch preset with pip-tools (~14 GB download, minutes)",
        "size-gb": "size of the synthetic store for the verify throughput figure",
        "cuda": "also the CUDA figures (bench/bench_cuda.py): runtime with CUDA from wheels vs on nvidia/cuda's base (downloads ~3.5 GB)",
        "cuda-cold": "also the CUDA 11.5 preset's cold deps build with --no-cache (tens of minutes)",
        "prebuilt": "also a site build with prebuilt FFmpeg/OpenCV vs compiling them, each on a fresh engine (bench/bench_prebuilt.py)",
    }
)
@boundary
def bench(c, preset="debian12-cpu-py3.11", skip_cold=False, with_pip_tools=False, size_gb=1.0, cuda=False, cuda_cold=False, prebuilt=False):  # type: ignore[no-untyped-def]
    """Print the benchmark table: lock time/bytes, no-op sync, verify GB/s and % of the sha256 limit, builds, sizes, CUDA."""
    import os

    root = project().root
    sys.path.insert(0, str(root / "bench"))
    import bench_build  # type: ignore[import-not-found]
    import bench_lock  # type: ignore[import-not-found]
    import bench_sync  # type: ignore[import-not-found]
    import bench_verify  # type: ignore[import-not-found]

    print(f"## lock ({os.cpu_count()} cores)")
    print(bench_lock.render(bench_lock.bench_rows(with_pip_tools=with_pip_tools), with_pip_tools=with_pip_tools))
    print("\n## sync")
    print(bench_verify.render(bench_sync.rows(preset)))
    print("\n## verify (hashing against this machine's sha256 limit, measured in this run)")
    print(bench_verify.render(bench_verify.rows(size_gb)))
    print("\n## build and size")
    print(bench_verify.render(bench_build.rows(preset, skip_cold)))
    if prebuilt:
        import bench_prebuilt  # type: ignore[import-not-found]

        print("\n## site build: prebuilt FFmpeg/OpenCV vs compiling them (fresh engine each)")
        print(bench_verify.render(bench_prebuilt.rows(preset)))
    if cuda or cuda_cold:
        import bench_cuda  # type: ignore[import-not-found]

        if cuda:
            print("\n## CUDA once: CUDA from the locked wheels vs on nvidia/cuda's runtime base")
            print(bench_cuda.render(bench_cuda.size_rows()))
        if cuda_cold:
            print("\n## the CUDA 11.5 preset's cold deps build (lean OpenCV of its CI test)")
            print(bench_cuda.render(bench_cuda.cold_rows()))


TASKS = [bench]
