"""Horizontal bar charts for the terminal, for values a person compares at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Final

from rich.table import Table

# Eighths of a character cell, so bars grow in steps finer than one column.
_PARTIAL_BLOCKS: Final = " ▏▎▍▌▋▊▉"
_FULL_BLOCK: Final = "█"


def bar(value: int | Decimal | float, maximum: int | Decimal | float, width: int = 30) -> str:
    """Return a bar of at most ``width`` cells whose length is ``value / maximum``.

    Zero, negative values and a zero ``maximum`` give an empty bar.
    """
    if maximum <= 0 or value <= 0:
        return ""
    eighths = int(round(float(value) / float(maximum) * width * 8))
    full, rest = divmod(min(eighths, width * 8), 8)
    return _FULL_BLOCK * full + (_PARTIAL_BLOCKS[rest] if rest else "")


def bar_chart(rows: Sequence[tuple[str, int | Decimal]], *, title: str, value_label: str, width: int = 30) -> Table:
    """Return a table with one labelled bar per row, scaled to the largest value."""
    maximum = max((value for _, value in rows), default=0)
    table = Table("", value_label, "", title=title, box=None, padding=(0, 1), title_justify="left")
    for label, value in rows:
        table.add_row(label, f"{value:,}", bar(value, maximum, width))
    return table
