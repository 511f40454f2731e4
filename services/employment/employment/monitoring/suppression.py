"""Small-cell suppression of the participation report: primary (every count under 5) and complementary (more
counts hidden until no hidden count can be worked out from the ones shown).

The report's counts are tied by sums: the overall count is the sum of the cohorts' counts, and of the genders'
(and, for people working, of the sectors'). Read as a linear system, a hidden count is given away when the shown
counts fix its value, which happens in subtler ways than "the only hidden cell of a line": a hidden cell that
joins two groups of hidden cells can be determined too. So the check solves the system: a hidden count is
recomputable exactly when its unit vector lies in the row space of the equations restricted to hidden counts
(equivalently, dropping its column lowers the rank). Exact rational arithmetic; the report's system is small.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from fractions import Fraction

THRESHOLD = 5

Cell = Hashable
# (total, parts): the total equals the sum of the parts.
Equation = tuple[Cell, Sequence[Cell]]


def suppress(values: Mapping[Cell, int], equations: Sequence[Equation], threshold: int = THRESHOLD) -> set[Cell]:
    """The cells to hide: every count under `threshold`, and enough others that none of them can be recomputed.
    Complements are chosen from the equations of a given-away cell, smallest count above zero first, parts
    before totals, and the first that makes the cell undeterminable."""
    hidden = {cell for cell, value in values.items() if value < threshold}
    equations = [(total, parts) for total, parts in equations if parts]  # "nothing adds up to 0" tells nothing
    while True:
        exposed = sorted(recomputable(equations, hidden), key=repr)
        if not exposed:
            return hidden
        cell = exposed[0]
        candidates = sorted({other for total, parts in equations if cell == total or cell in parts
                             for other in (total, *parts) if other not in hidden},
                            key=lambda other: (values[other] == 0, _is_total(other, equations), values[other],
                                               repr(other)))
        if not candidates:  # its own lines are hidden already: any shown cell may be what gives it away
            candidates = sorted((other for other in values if other not in hidden), key=repr)
            if not candidates:
                return hidden
        chosen = next((c for c in candidates if cell not in recomputable(equations, hidden | {c})), None)
        hidden.add(chosen if chosen is not None else candidates[0])


def recomputable(equations: Sequence[Equation], hidden: Iterable[Cell]) -> set[Cell]:
    """The hidden cells whose value follows from the shown ones through the equations."""
    hidden = list(dict.fromkeys(hidden))
    column = {cell: n for n, cell in enumerate(hidden)}
    rows = []
    for total, parts in equations:
        row = [Fraction(0)] * len(hidden)
        for cell, sign in ((total, -1), *((part, 1) for part in parts)):
            if cell in column:
                row[column[cell]] += sign
        if any(row):
            rows.append(row)
    full = _rank(rows)
    return {cell for cell, n in column.items() if _rank([r[:n] + r[n + 1:] for r in rows]) < full}


def _rank(rows: list[list[Fraction]]) -> int:
    matrix = [list(row) for row in rows]
    rank, width = 0, len(matrix[0]) if matrix else 0
    for col in range(width):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][col] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        for r in range(len(matrix)):
            if r != rank and matrix[r][col] != 0:
                factor = matrix[r][col] / matrix[rank][col]
                matrix[r] = [a - factor * b for a, b in zip(matrix[r], matrix[rank], strict=True)]
        rank += 1
    return rank


def _is_total(cell: Cell, equations: Sequence[Equation]) -> bool:
    return any(cell == total for total, _ in equations)
