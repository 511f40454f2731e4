"""Small-cell suppression of the participation report: no hidden count can be worked out from the counts shown,
checked by solving the table's sums as a linear system on many random tables."""

from __future__ import annotations

import random
from fractions import Fraction

from employment.monitoring.suppression import suppress


def determined(equations, values, hidden) -> set:
    """Independent check: reduce the system with the shown values substituted to row echelon form and read off
    the hidden cells that a row pins down alone (a row with one non-zero coefficient after full reduction)."""
    cells = sorted(hidden, key=repr)
    column = {cell: n for n, cell in enumerate(cells)}
    rows = []
    for total, parts in equations:
        row = [Fraction(0)] * (len(cells) + 1)
        for cell, sign in ((total, -1), *((part, 1) for part in parts)):
            if cell in column:
                row[column[cell]] += sign
            else:
                row[-1] -= sign * values[cell]
        rows.append(row)
    pivot_row = 0
    for col in range(len(cells)):
        found = next((r for r in range(pivot_row, len(rows)) if rows[r][col] != 0), None)
        if found is None:
            continue
        rows[pivot_row], rows[found] = rows[found], rows[pivot_row]
        rows[pivot_row] = [x / rows[pivot_row][col] for x in rows[pivot_row]]
        for r in range(len(rows)):
            if r != pivot_row and rows[r][col] != 0:
                rows[r] = [a - rows[r][col] * b for a, b in zip(rows[r], rows[pivot_row], strict=True)]
        pivot_row += 1
    pinned = set()
    for row in rows:
        nonzero = [n for n in range(len(cells)) if row[n] != 0]
        if len(nonzero) == 1:
            pinned.add(cells[nonzero[0]])
            assert row[-1] == values[cells[nonzero[0]]], "the system gives back the true value"
    return pinned


def report_table(rng: random.Random) -> tuple[dict, list]:
    """Random counts shaped like the report: people, working and sustainable per cohort, gender and sector."""
    cohorts, genders = rng.randint(1, 6), rng.randint(1, 3)
    values, equations = {}, []
    for measure in ("people", "working", "sustainable"):
        by_cohort = {c: rng.choice((0, 1, 2, 3, 4, 5, 6, 9, 20, 70)) for c in range(cohorts)}
        total = sum(by_cohort.values())
        cuts = sorted(rng.randint(0, total) for _ in range(genders - 1))
        by_gender = [b - a for a, b in zip([0, *cuts], [*cuts, total], strict=True)]
        values[(measure, "overall")] = total
        values.update({(measure, "cohort", c): n for c, n in by_cohort.items()})
        values.update({(measure, "gender", g): n for g, n in enumerate(by_gender)})
        equations.append(((measure, "overall"), [(measure, "cohort", c) for c in by_cohort]))
        equations.append(((measure, "overall"), [(measure, "gender", g) for g in range(genders)]))
        if measure == "working":
            sectors = rng.randint(1, 8)
            cuts = sorted(rng.randint(0, total) for _ in range(sectors - 1))
            values.update({(measure, "sector", s): b - a
                           for s, (a, b) in enumerate(zip([0, *cuts], [*cuts, total], strict=True))})
            equations.append(((measure, "overall"), [(measure, "sector", s) for s in range(sectors)]))
    return values, equations


def test_the_example_of_the_issue_is_no_longer_recomputable() -> None:
    # cohort 2021 = 72 - 70 shown = 2
    values = {"all": 72, 2020: 70, 2021: 2}
    equations = [("all", [2020, 2021])]
    assert determined(equations, values, {2021}) == {2021}, "suppressed one by one, it was recomputable"
    hidden = suppress(values, equations)
    assert 2021 in hidden and not determined(equations, values, hidden)


def test_no_hidden_cell_is_recomputable_from_any_total_on_many_random_tables() -> None:
    rng = random.Random(19)
    complemented = 0
    for _ in range(300):
        values, equations = report_table(rng)
        hidden = suppress(values, equations)
        primary = {cell for cell, n in values.items() if n < 5}
        assert primary <= hidden
        assert not determined(equations, values, hidden), values
        complemented += bool(hidden - primary)
    assert complemented > 60, "the tables exercised complementary suppression"


def test_a_hidden_cell_joining_two_groups_of_hidden_cells_is_protected_too() -> None:
    # Two groups share the overall total: hiding one cell per group line by line is not enough when the third
    # equation ties them together (the pitfall of checking one line at a time).
    values = {"p": 30, "c1": 2, "c2": 28, "g1": 3, "g2": 27, "s1": 10, "s2": 20}
    equations = [("p", ["c1", "c2"]), ("p", ["g1", "g2"]), ("p", ["s1", "s2"])]
    hidden = suppress(values, equations)
    assert not determined(equations, values, hidden)
