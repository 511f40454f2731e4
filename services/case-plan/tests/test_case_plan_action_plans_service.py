"""Action plans: every revision a new version, old versions readable, approval recorded, dual trajectories."""

from __future__ import annotations

from datetime import date

import pytest
from case_plan.action_plans.models import ObjectiveCreate
from case_plan.action_plans.service import approve_plan, get_plan, list_plans, revise_plan
from case_plan.cases.models import Case

from verbinding_common.errors import Conflict, Forbidden


def objective(domain: str, status: str = "active", term: str = "short_term", **fields) -> ObjectiveCreate:
    return ObjectiveCreate(domain=domain, term=term, status=status, target_date=fields.pop("target_date",
                           date(2025, 6, 1)), description=fields.pop("description", f"{domain} objective"))


async def revise(casework, case: Case, *objectives: ObjectiveCreate, by: str = "cm-anna"):
    async with casework.sessionmaker() as session, session.begin():
        return await revise_plan(session=session, case=await session.get_one(Case, case.id),
                                 objectives=list(objectives), created_by=by)


async def approve(casework, case: Case, version: int, by: str = "cm-anna", author_may_approve: bool = False):
    async with casework.sessionmaker() as session, session.begin():
        return await approve_plan(session=session, case=await session.get_one(Case, case.id), version=version,
                                  approved_by=by, author_may_approve=author_may_approve)


async def test_every_revision_is_a_new_version_and_old_versions_stay_readable(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    first = await revise(casework, case, objective("language", description="Dutch A2 course"))
    second = await revise(casework, case, objective("language", status="achieved", description="Dutch A2 course"),
                          objective("work", description="Work experience in a kitchen"))
    assert (first.version, second.version) == (1, 2)

    async with casework.sessionmaker() as session:
        versions = await list_plans(session=session, case=case)
        old = await get_plan(session=session, case=case, version=1)
        latest = await get_plan(session=session, case=case)
    assert [v.version for v in versions] == [1, 2]
    assert [(o.domain, o.status) for o in old.objectives] == [("language", "active")]
    assert [(o.domain, o.status) for o in latest.objectives] == [("language", "achieved"), ("work", "active")]
    assert [e["version"] for e in await casework.events(case.id) if e["type"].endswith("action-plan-revised.v1")] \
        == [1, 2]


async def test_approval_is_recorded_on_the_latest_version_only(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    await revise(casework, case, objective("housing"))
    await revise(casework, case, objective("housing"), objective("health_care", term="long_term"))
    with pytest.raises(Conflict, match="not the latest"):
        await approve(casework, case, 1)

    approved = await approve(casework, case, 2, by="tl-bert")
    assert approved.approved_by == "tl-bert" and approved.approved_at is not None
    again = await approve(casework, case, 2, by="cm-anna")
    assert (again.approved_by, again.approved_at) == (approved.approved_by, approved.approved_at)
    revised = [e for e in await casework.events(case.id) if e["type"].endswith("action-plan-revised.v1")]
    assert [(e["version"], e["approved"]) for e in revised] == [(1, False), (2, False), (2, True)]


async def test_a_dual_trajectory_with_two_domains_active_at_once_is_accepted(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    plan = await revise(casework, case,
                        objective("work", description="Work experience placement, three days a week"),
                        objective("language", description="Dutch language training, two days a week"),
                        objective("education", status="planned", term="long_term",
                                  description="Recognition of nursing diploma", target_date=date(2026, 9, 1)))
    assert [(o.domain, o.status) for o in plan.objectives if o.status == "active"] == [
        ("work", "active"), ("language", "active")]
    event = (await casework.events(case.id))[-1]
    assert event["active_domains"] == ["work", "language"]


async def test_finding_work_does_not_close_the_case(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    await revise(casework, case, objective("work", status="achieved", description="Permanent contract found"),
                 objective("participation", description="Coaching continues after employment"))
    assert (await casework.case(case.id)).status == "assigned"


async def test_the_plan_of_a_closed_case_cannot_be_revised(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    await casework.close(case.id)
    with pytest.raises(Conflict, match="closed"):
        await revise(casework, case, objective("work"))


async def test_the_author_of_a_plan_version_may_not_approve_it_unless_the_setting_allows(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    await revise(casework, case, objective("language"), by="cm-anna")
    with pytest.raises(Forbidden, match="author"):
        await approve(casework, case, 1, by="cm-anna")
    assert (await approve(casework, case, 1, by="cm-anna", author_may_approve=True)).approved_by == "cm-anna"


async def test_the_plan_of_a_closed_case_cannot_be_approved(casework) -> None:
    await casework.add_manager("cm-anna")
    case = await casework.open()
    await revise(casework, case, objective("work"))
    await casework.close(case.id)
    with pytest.raises(Conflict, match="closed"):
        await approve(casework, case, 1, by="tl-bert")
