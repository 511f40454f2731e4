"""The person overview: intake, case-plan and employment asked in parallel, each section degrading on its own."""

from __future__ import annotations

import asyncio
from typing import Any

from verbinding_common.auth import Identity
from verbinding_common.downstream import Downstream, ServiceUnavailable, segment

Section = dict[str, Any] | None


# What intake's 404 becomes inside the gather: the whole overview is then a 404.
_UNKNOWN: dict[str, Any] = {}


def unavailable(reason: str) -> dict[str, Any]:
    return {"unavailable": True, "reason": reason}


async def person_overview(*, intake: Downstream, case_plan: Downstream, employment: Downstream, identity: Identity,
                          person_id: str, timeout_s: float) -> dict[str, Section] | None:
    """Person (intake), case and latest action plan (case-plan), work (employment: placements and the next retention
    check), all within `timeout_s`; a section that cannot be had in time says why. None when intake does not know
    the person.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    person_path = f"/persons/{segment(person_id)}"
    person, (case, action_plan), work = await asyncio.gather(
        _section(intake, person_path, identity=identity, deadline=deadline, missing=_UNKNOWN),
        _case_and_plan(case_plan=case_plan, identity=identity, person_path=person_path, deadline=deadline),
        _section(employment, f"{person_path}/employment", identity=identity, deadline=deadline),
    )
    if person is _UNKNOWN:
        return None
    return {"person": person, "case": case, "action_plan": action_plan, "employment": work}


async def _section(service: Downstream, path: str, *, identity: Identity, deadline: float,
                   missing: Section = None) -> Section:
    """The service's answer at `path`; `missing` when it has none (404), else why it is unavailable."""
    try:
        response = await service.request("GET", path, identity=identity,
                                         timeout_s=max(0.001, deadline - asyncio.get_running_loop().time()))
    except ServiceUnavailable as exc:
        return unavailable(str(exc))
    if response.status_code == 404:
        return missing
    if response.status_code != 200:
        return unavailable(f"{service.name} answered {response.status_code}")
    return response.json()


async def _case_and_plan(*, case_plan: Downstream, identity: Identity, person_path: str,
                         deadline: float) -> tuple[Section, Section]:
    # Two calls one after the other share one deadline: the overview as a whole answers in time.
    case = await _section(case_plan, f"{person_path}/case", identity=identity, deadline=deadline)
    if case is None or case.get("unavailable"):
        return case, case
    plan = await _section(case_plan, f"/cases/{segment(case['case_id'])}/action-plan", identity=identity,
                          deadline=deadline)
    return case, plan
