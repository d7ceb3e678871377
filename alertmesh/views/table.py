"""Plain-text tables for terminals (``dlq list``, ``results``, ``status``): columns padded to their widest
cell, the last column cut to fit the terminal (the whole text is always in the command's ``--json``)."""

from __future__ import annotations

from collections.abc import Sequence

#: The last column keeps at least this many characters, however narrow the terminal.
MIN_LAST_COLUMN = 20


def column_widths(rows: Sequence[Sequence[str]]) -> list[int]:
    """The width of every column but the last: its widest cell."""
    columns = len(rows[0]) - 1 if rows else 0
    return [max(len(row[column]) for row in rows) for column in range(columns)]


def format_row(row: Sequence[str], widths: Sequence[int], width: int) -> str:
    """One line: cells padded to ``widths`` two spaces apart, the last cell cut (``...``) to fit ``width``."""
    head = "  ".join(cell.ljust(size) for cell, size in zip(row, widths, strict=False))
    last = row[-1]
    room = max(MIN_LAST_COLUMN, width - len(head) - 2)
    last = last if len(last) <= room else last[: room - 3] + "..."
    return f"{head}  {last}".rstrip()


def render(rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Every row (the header first) as lines of one table."""
    widths = column_widths(rows)
    return [format_row(row, widths, width) for row in rows]
