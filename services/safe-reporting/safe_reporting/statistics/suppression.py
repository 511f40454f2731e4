"""Small-count suppression for the weekly table of reports (category x district), with its totals.

The table is read with its margins as one grid, in which every row and every column is an equation (the cells add up
to the total). Primary: every figure under the threshold (5) is hidden, totals included. Complementary: more figures
are hidden until every hidden count from 1 to 4 is protected, that is, the published figures (the equations, with
every count at least 0) allow it to be at least one lower and at least one higher than it is. Then no equation, no
combination of equations, and no bound from counts being non-negative recomputes it: the way the issue's pattern
((10 + 13) - (10 + 11) = 2) and the old one-line-at-a-time check leaked cannot recur.

Why the check is exact. Give every entry the sign s = +1 inside the table and -1 on a margin (the grand total, on two
margins, +1), and write y = s * x: every row and column of y (margins included) then adds up to 0. A change of the
hidden entries that keeps every published figure and every equation is a circulation on the bipartite graph whose
nodes are the grid's rows and columns and whose edges are the hidden entries. Such a change moves an entry by one
exactly when a cycle of hidden entries runs through it (a circulation decomposes into cycles that agree with it in
sign), and keeps every count non-negative exactly when each entry the cycle lowers is at least 1. So "can be one
higher" and "can be one lower" are each one path search in a directed graph (`_can_move`); a hidden entry is
determined by the published figures exactly when neither search finds a path.

Complements are chosen a cycle at a time: for each hidden count from 1 up, the cheapest cycle that moves it up, then
the cheapest that moves it down, and every entry on them is hidden (already hidden entries cost nothing, inner cells
before margins, smaller before larger). Hiding more only ever widens what the published figures allow, so a count,
once protected, stays protected; such cycles always exist (its row total, column total and the grand total close
one), so the loop ends with every count protected.
"""

from __future__ import annotations

import heapq
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

THRESHOLD = 5

Key = tuple[str, str]


@dataclass(frozen=True)
class SuppressedTable:
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    cells: dict[tuple[str, str], int | None]
    row_totals: dict[str, int | None]
    column_totals: dict[str, int | None]
    total: int | None


_TOTAL = "\x00total"  # the margin's key in the extended grid; never a real category or district
_MARGIN_COST = 10**6  # hide a margin only where no inner cell will do; the grand total last of all


def suppress(counts: Mapping[tuple[str, str], int], rows: Sequence[str], columns: Sequence[str],
             threshold: int = THRESHOLD) -> SuppressedTable:
    """The table with every figure under `threshold` hidden, and enough others hidden that every hidden count from 1
    up can, from the published figures, be one lower and one higher than it is."""
    grid = extended_grid(counts, rows, columns)
    hidden = {key for key, value in grid.items() if value < threshold}
    for key in sorted((key for key in hidden if grid[key] > 0), key=lambda key: (grid[key], key)):
        for step in (+1, -1):
            cycle = _cheapest_cycle(grid, hidden, key, step, hide=True)
            assert cycle is not None, "row total, column total and grand total always close one"
            hidden |= cycle

    def shown(key: Key) -> int | None:
        return None if key in hidden else grid[key]

    return SuppressedTable(
        rows=tuple(rows), columns=tuple(columns),
        cells={(row, column): shown((row, column)) for row in rows for column in columns},
        row_totals={row: shown((row, _TOTAL)) for row in rows},
        column_totals={column: shown((_TOTAL, column)) for column in columns},
        total=shown((_TOTAL, _TOTAL)),
    )


def extended_grid(counts: Mapping[Key, int], rows: Sequence[str], columns: Sequence[str]) -> dict[Key, int]:
    """The table and its margins as one grid; a margin's key uses `_TOTAL` for the row or column."""
    grid: dict[Key, int] = {(row, column): counts.get((row, column), 0) for row in rows for column in columns}
    for row in rows:
        grid[(row, _TOTAL)] = sum(grid[(row, column)] for column in columns)
    for column in columns:
        grid[(_TOTAL, column)] = sum(grid[(row, column)] for row in rows)
    grid[(_TOTAL, _TOTAL)] = sum(grid[(row, _TOTAL)] for row in rows)
    return grid


def is_protected(grid: Mapping[Key, int], hidden: set[Key], key: Key) -> bool:
    """True when the published figures allow the hidden entry `key` to be one lower and one higher than it is."""
    return all(_cheapest_cycle(grid, hidden, key, step, hide=False) is not None for step in (+1, -1))


def _hiding_cost(grid: Mapping[Key, int], entry: Key) -> int:
    return 1 + grid[entry] + _MARGIN_COST * ((entry[0] == _TOTAL) + (entry[1] == _TOTAL))


def _sign(key: Key) -> int:
    return (-1 if key[0] == _TOTAL else 1) * (-1 if key[1] == _TOTAL else 1)


Node = tuple[str, str]


def _cheapest_cycle(grid: Mapping[Key, int], hidden: set[Key], key: Key, step: int, *,
                    hide: bool) -> set[Key] | None:
    """The entries of the cheapest cycle that moves `key` by `step` keeping every count non-negative, using hidden
    entries only (hide=False) or any entry at the cost of hiding it (hide=True); None when there is none.

    Directed graph: nodes ("r", row) and ("c", column); an entry (r, c) gives the arc r -> c (y one higher, so x moves
    by the entry's sign) and c -> r (y one lower), each usable unless it lowers an entry that is already 0. Moving
    `key` by `step` is y moving by step * sign: over its arc r -> c when that is +1, c -> r otherwise; the cycle closes
    by a path back that does not use `key` again (Dijkstra: hidden entries cost nothing)."""
    if step < 0 and grid[key] == 0:
        return None
    adjacency: dict[Node, list[Key]] = {}
    for entry in grid if hide else hidden:
        adjacency.setdefault(("r", entry[0]), []).append(entry)
        adjacency.setdefault(("c", entry[1]), []).append(entry)

    up = step * _sign(key) > 0
    start, goal = (("c", key[1]), ("r", key[0])) if up else (("r", key[0]), ("c", key[1]))
    best: dict[Node, int] = {start: 0}
    came_by: dict[Node, tuple[Node, Key]] = {}
    queue = [(0, start)]
    while queue:
        distance, node = heapq.heappop(queue)
        if node == goal:
            path, at = set(), goal
            while at != start:
                at, entry = came_by[at]
                path.add(entry)
            return path
        if distance > best[node]:
            continue
        forward = node[0] == "r"  # r -> c raises y by one
        for entry in adjacency.get(node, ()):
            if entry == key or ((_sign(entry) if forward else -_sign(entry)) < 0 and grid[entry] < 1):
                continue  # not `key` again, and nothing lowered below 0
            nxt = ("c", entry[1]) if forward else ("r", entry[0])
            through = distance + (0 if entry in hidden else _hiding_cost(grid, entry))
            if through < best.get(nxt, through + 1):
                best[nxt] = through
                came_by[nxt] = (node, entry)
                heapq.heappush(queue, (through, nxt))
    return None
