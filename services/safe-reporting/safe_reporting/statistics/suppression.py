"""Small-count suppression for the weekly table of reports (category x district), with its totals.

Primary: every figure under the threshold (5) is hidden, totals included. Complementary: the table is read with its
margins as one grid in which every row and every column is an equation (the cells add up to the total). A line with
exactly one hidden figure would give that figure away by subtraction, so a second figure of that line is hidden too
(the smallest visible one above zero, inner cells before totals), and this repeats until no line has exactly one
hidden figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 5


@dataclass(frozen=True)
class SuppressedTable:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], int | None]
    row_totals: dict[str, int | None]
    column_totals: dict[str, int | None]
    total: int | None


_TOTAL = "\x00total"  # the margin's key in the extended grid; never a real category or district


def suppress(counts: Mapping[tuple[str, str], int], rows: Sequence[str], columns: Sequence[str],
             threshold: int = THRESHOLD) -> SuppressedTable:
    """The table with every figure under `threshold` hidden, and enough others hidden that none can be derived."""
    grid: dict[tuple[str, str], int] = {}
    for row in rows:
        for column in columns:
            grid[(row, column)] = counts.get((row, column), 0)
    for row in rows:
        grid[(row, _TOTAL)] = sum(grid[(row, column)] for column in columns)
    for column in columns:
        grid[(_TOTAL, column)] = sum(grid[(row, column)] for row in rows)
    grid[(_TOTAL, _TOTAL)] = sum(grid[(row, _TOTAL)] for row in rows)

    hidden = {key for key, value in grid.items() if value < threshold}
    lines = [[(row, column) for column in [*columns, _TOTAL]] for row in [*rows, _TOTAL]]
    lines += [[(row, column) for row in [*rows, _TOTAL]] for column in [*columns, _TOTAL]]
    changed = True
    while changed:
        changed = False
        for line in lines:
            if sum(key in hidden for key in line) == 1:
                hidden.add(_complement(line, grid, hidden))
                changed = True

    def shown(key: tuple[str, str]) -> int | None:
        return None if key in hidden else grid[key]

    return SuppressedTable(
        rows=tuple(rows), columns=tuple(columns),
        cells={(row, column): shown((row, column)) for row in rows for column in columns},
        row_totals={row: shown((row, _TOTAL)) for row in rows},
        column_totals={column: shown((_TOTAL, column)) for column in columns},
        total=shown((_TOTAL, _TOTAL)),
    )


def _complement(line: list[tuple[str, str]], grid: dict[tuple[str, str], int],
                hidden: set[tuple[str, str]]) -> tuple[str, str]:
    visible = [key for key in line if key not in hidden]

    def preference(key: tuple[str, str]) -> tuple[bool, bool, int, tuple[str, str]]:
        is_margin = _TOTAL in key
        return (grid[key] == 0, is_margin, grid[key], key)

    return min(visible, key=preference)
