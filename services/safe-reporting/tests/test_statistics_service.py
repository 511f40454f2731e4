"""Statistics: figures under 5 are hidden, and no hidden figure can be derived from the published ones."""

from __future__ import annotations

import itertools
import random

import pytest
from safe_reporting.statistics.suppression import THRESHOLD, SuppressedTable, suppress

ROWS, COLUMNS = ("a", "b", "c"), ("x", "y", "z")


T = "total"


def _grid(table: SuppressedTable, counts: dict) -> tuple[dict, set]:
    """The table with its margins as one grid of true values, and which entries the published table hides."""
    rows, columns = [*table.rows, T], [*table.columns, T]
    true = {(r, c): counts.get((r, c), 0) for r in table.rows for c in table.columns}
    for r in table.rows:
        true[(r, T)] = sum(true[(r, c)] for c in table.columns)
    for c in [*table.columns, T]:
        true[(T, c)] = sum(true[(r, c)] for r in table.rows)
    shown = {**table.cells, **{(r, T): v for r, v in table.row_totals.items()},
             **{(T, c): v for c, v in table.column_totals.items()}, (T, T): table.total}
    return true, {(r, c) for r in rows for c in columns if shown[(r, c)] is None}


def _another_table_changes(table: SuppressedTable, counts: dict, target: tuple[str, str]) -> bool:
    """True when some other table of non-negative counts publishes the same figures but differs at `target`: a
    change of -1/0/+1 on hidden entries that keeps every row and column adding up to its total."""
    true, hidden = _grid(table, counts)
    rows, columns = [*table.rows, T], [*table.columns, T]

    def row_moves(r: str):
        keys = [(r, c) for c in columns if (r, c) in hidden]
        for steps in itertools.product((-1, 0, 1), repeat=len(keys)):
            move = dict(zip(keys, steps, strict=True))
            if all(true[k] + d >= 0 for k, d in move.items()) and \
                    sum(move.get((r, c), 0) for c in table.columns) == move.get((r, T), 0):
                yield move

    for choice in itertools.product(*(list(row_moves(r)) for r in rows)):
        move = {k: d for part in choice for k, d in part.items()}
        if not move.get(target):
            continue
        if all(sum(move.get((r, c), 0) for r in table.rows) == move.get((T, c), 0) for c in columns):
            return True
    return False


def test_every_figure_under_five_is_hidden_and_the_rest_shown_where_safe() -> None:
    counts = {("a", "x"): 12, ("a", "y"): 7, ("b", "x"): 9, ("b", "y"): 30, ("c", "z"): 3}
    table = suppress(counts, ROWS, COLUMNS)
    for key, value in table.cells.items():
        if counts.get(key, 0) < THRESHOLD:
            assert value is None
    assert table.cells[("b", "y")] == 30
    assert table.total is not None


@pytest.mark.parametrize("seed", range(12))
def test_no_hidden_small_count_can_be_recovered_from_the_published_figures(seed: int) -> None:
    rng = random.Random(seed)
    counts = {(r, c): rng.choice([1, 2, 3, 6, 9, 14]) for r in ROWS for c in COLUMNS}
    table = suppress(counts, ROWS, COLUMNS)
    small = [key for key, value in counts.items() if value < THRESHOLD]
    assert small, "every seed has small cells"
    for key in small:
        assert table.cells[key] is None
        assert _another_table_changes(table, counts, key), f"cell {key} = {counts[key]} is recoverable: {table}"


def test_a_single_small_cell_in_a_row_takes_a_second_one_with_it() -> None:
    counts = {("a", "x"): 2, ("a", "y"): 10, ("a", "z"): 11, ("b", "x"): 10, ("b", "y"): 10, ("b", "z"): 10,
              ("c", "x"): 10, ("c", "y"): 10, ("c", "z"): 10}
    table = suppress(counts, ROWS, COLUMNS)
    assert table.cells[("a", "x")] is None
    assert sum(table.cells[("a", c)] is None for c in COLUMNS) >= 2
    assert sum(table.cells[(r, "x")] is None for r in ROWS) >= 2


async def test_the_weekly_counts_are_published_once_with_small_cells_hidden_and_again_only_when_they_change(
        api, as_role, sessionmaker) -> None:
    from safe_reporting.reports.service import iso_week
    from safe_reporting.statistics.service import publish_changed_weeks
    from safe_support import a_report
    from sqlalchemy import select

    from verbinding_common.db import outbox_table

    reporter = as_role("reporter", "anonymous-reporter")
    for district, times in (("oost", 6), ("centrum", 2), ("noord", 7)):
        for _ in range(times):
            assert (await api.post("/reports", json=a_report(category="violence", district=district),
                                   headers=reporter)).status_code == 201
    week = iso_week(__import__("datetime").date.today())

    async def publish() -> list[str]:
        async with sessionmaker() as session, session.begin():
            return await publish_changed_weeks(session=session, weeks=[week])

    assert await publish() == [week]
    assert await publish() == []  # unchanged: not published again
    async with sessionmaker() as session:
        rows = (await session.execute(select(outbox_table.c.topic, outbox_table.c.key, outbox_table.c.envelope)))
        rows = rows.all()
    assert [(row.topic, row.key) for row in rows] == [("safe-reporting.statistics.v1", week)]
    data = rows[0].envelope["data"]
    cells = {(c["category"], c["district"]): c["reports"] for c in data["cells"]}
    assert cells[("violence", "centrum")] is None
    # The hidden 2 cannot be placed: it could sit in any of the row's other hidden (empty) districts.
    assert (cells[("violence", "oost")], cells[("violence", "noord")]) == (6, 7)
    assert sum(value is None for (category, _), value in cells.items() if category == "violence") >= 2
    assert data["total"] == 15
    assert set(rows[0].envelope["data"]) == {"iso_week", "threshold", "cells", "category_totals", "district_totals",
                                             "total", "computed_at"}
    statistics = await api.get("/statistics", headers=as_role("team_lead"))
    assert statistics.status_code == 200 and statistics.json()[-1]["total"] == 15
    assert (await api.get("/statistics", headers=as_role("case_manager"))).status_code == 403


async def test_the_running_service_publishes_a_changed_week_by_itself(
        service_database: str, identity_keys: tuple[str, str], as_role, kafka_server) -> None:
    from safe_reporting.main import create_app
    from safe_support import a_report, safe_reporting_settings
    from sqlalchemy import func, select

    from verbinding_common.db import outbox_table
    from verbinding_testing.fixtures import eventually, running_app

    app = create_app(safe_reporting_settings(service_database, identity_keys[1], statistics_interval_s=0.1,
                                             kafka_bootstrap_servers=kafka_server.bootstrap_servers,
                                             shutdown_drain_s=1.0))

    async def published() -> int:
        async with app.state.sessionmaker() as session:
            return await session.scalar(select(func.count()).select_from(outbox_table)
                                        .where(outbox_table.c.topic == "safe-reporting.statistics.v1"))

    async with running_app(app) as client:
        for _ in range(THRESHOLD):  # fewer would all be hidden: nothing to publish
            assert (await client.post("/reports", json=a_report(),
                                      headers=as_role("reporter", "anonymous-reporter"))).status_code == 201
        assert await eventually(published, timeout=30, what="the weekly-statistics job to publish the week")
        jobs = (await client.get("/readyz")).json()["jobs"]
    assert {"weekly-statistics", "closed-report-purge", "shared-limits-purge"} <= set(jobs)
    assert jobs["weekly-statistics"]["last_success_at"] is not None
