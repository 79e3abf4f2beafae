"""The one byte formatter and the one table renderer (rich), for every task's output.

Sizes are decimal megabytes with one decimal (``1.2 MB``: 1 MB = 10^6 bytes), one unit
everywhere so columns and log lines compare at a glance.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text


def mb(n: int) -> str:
    """Bytes as decimal megabytes: ``mb(1_234_567) == "1.2 MB"``."""
    return f"{n / 1e6:.1f} MB"


def rate(n: int, seconds: float) -> str:
    """Bytes per second as ``"2.5 MB/s"``; ``"-"`` when nothing moved or no time passed."""
    return f"{n / seconds / 1e6:.1f} MB/s" if n and seconds > 0 else "-"


def table(rows: Sequence[Sequence[str]], *, right: bool = False) -> str:
    """Plain-text columns (no box, no colour): the first row is the header.

    ``right`` right-aligns every column but the first (figures); otherwise all are left-aligned.
    Cells are plain text: square brackets in a value (a path, a list) are printed, never read
    as rich markup.
    """
    head, *body = rows
    t = Table(box=None, show_edge=False, pad_edge=False, padding=(0, 2, 0, 0), show_header=True, header_style="")
    for i, name in enumerate(head):
        t.add_column(name, justify="right" if right and i else "left", no_wrap=True)
    for r in body:
        t.add_row(*(Text(c) for c in r))
    out = io.StringIO()
    Console(file=out, width=10_000, color_system=None, force_terminal=False, highlight=False).print(t)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines())
