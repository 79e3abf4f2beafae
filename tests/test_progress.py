"""Sync progress (exact byte and file counts from many threads, a line per file in logs, a live bar on a terminal) and the shared table renderer."""

from __future__ import annotations

import io
import re
from concurrent.futures import ThreadPoolExecutor

from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console

from airlock.progress import Transfer, mb, rate
from airlock.render import table
from airlock.smoke import SmokeReport


def _log_console() -> Console:
    return Console(file=io.StringIO(), force_terminal=False)


@settings(max_examples=30, deadline=None)
@given(st.lists(st.lists(st.integers(min_value=0, max_value=1 << 20), max_size=20), min_size=1, max_size=12))
def test_counts_are_exact_when_fed_from_many_threads(files: list[list[int]]) -> None:
    """Chunks reported concurrently by download threads add up to the bytes sent; every file is counted once."""
    lines: list[str] = []
    with Transfer("wheels", len(files), None, say=lines.append, console=_log_console()) as tr:

        def one(i_chunks: tuple[int, list[int]]) -> None:
            i, chunks = i_chunks
            for n in chunks:
                tr.advance(n)
            tr.done(f"f{i}.whl", sum(chunks))

        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(one, enumerate(files)))
    assert tr.bytes == sum(map(sum, files))
    assert tr.finished == len(files) == len(lines)
    assert sorted(int(re.search(r"\[(\d+)/", ln).group(1)) for ln in lines) == list(range(1, len(files) + 1))  # type: ignore[union-attr]


def test_log_lines_name_the_file_and_carry_phase_bytes_total_and_rate() -> None:
    """Off a terminal each finished file prints one line: phase, k/N, name, its size, the phase's running bytes of the total, the rate."""
    lines: list[str] = []
    console = _log_console()
    with Transfer("sources", 2, 3_000_000, say=lines.append, console=console) as tr:
        tr.advance(1_000_000)
        tr.done("ffmpeg-6.1.1.tar.xz", 1_000_000)
        tr.advance(2_000_000)
        tr.done("opencv-4.9.0.tar.gz", 2_000_000)
    assert lines[0].startswith("sources  [1/2] ffmpeg-6.1.1.tar.xz 1.0 MB; phase 1.0 MB of 3.0 MB at ")
    assert lines[1].startswith("sources  [2/2] opencv-4.9.0.tar.gz 2.0 MB; phase 3.0 MB of 3.0 MB at ")
    assert all(ln.endswith("MB/s") for ln in lines)
    assert console.file.getvalue() == ""  # type: ignore[attr-defined]


def test_terminal_gets_a_live_bar_instead_of_lines() -> None:
    """On a terminal nothing goes through say(); the bar shows files done of total and bytes."""
    lines: list[str] = []
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120)
    with Transfer("wheels", 2, 2_000_000, say=lines.append, console=console) as tr:
        tr.advance(2_000_000)
        tr.done("a.whl", 1_000_000)
        tr.done("b.whl", 1_000_000)
    assert lines == []
    text = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", out.getvalue())
    assert "2/2 files  2.0 MB of 2.0 MB" in text and "wheels" in text


def test_units() -> None:
    assert mb(1_234_567) == "1.2 MB"
    assert rate(0, 1.0) == "-" and rate(5_000_000, 0) == "-" and rate(5_000_000, 2.0) == "2.5 MB/s"


def test_lines_from_concurrent_downloads_never_interleave() -> None:
    """print() writes a line and its newline in two calls; done() from many threads must still give whole lines."""
    import threading
    import time

    buf = io.StringIO()

    def say(line: str) -> None:  # print's two writes, with room for another thread in between
        buf.write(line)
        time.sleep(0.002)
        buf.write("\n")

    n = 16
    start = threading.Barrier(n)
    with Transfer("wheels", n, None, say=say, console=_log_console()) as tr:

        def one(i: int) -> None:
            start.wait()
            tr.done(f"w{i}.whl", 1000)

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(one, range(n)))
    lines = buf.getvalue().splitlines()
    assert len(lines) == n and all(re.fullmatch(r"wheels   \[\d+/16\] w\d+\.whl 0\.0 MB; phase 0\.0 MB at .*", ln) for ln in lines), lines


def test_table_prints_square_brackets_in_a_cell_as_they_are() -> None:
    """render.table: a value like a path list or "[bold]" is printed verbatim, not read as rich markup, in aligned columns."""
    out = table([("check", "result"), ("imports", "ok"), ("no compilers", "found ['gcc'] [bold]cc[/bold]")]).splitlines()
    assert out == ["check         result", "imports       ok", "no compilers  found ['gcc'] [bold]cc[/bold]"]


def test_smoke_report_is_one_table_of_checks_then_the_imports() -> None:
    """inv smoke's report: each check on a line that starts with its name and ends with its result, then 'imported:'."""
    text = SmokeReport("img", {"imports": "ok", "CUDA once": "twice: libcublas.so.12 (/a, /b)"}, ["numpy", "cv2"]).render()
    lines = text.splitlines()
    assert lines[1].startswith("imports") and lines[1].split()[-1] == "ok"
    assert lines[2].startswith("CUDA once") and lines[2].endswith("twice: libcublas.so.12 (/a, /b)")
    assert lines[-1] == "imported: numpy, cv2"
