"""The person overview: intake, case-plan and employment asked in parallel, each section degrading on its own."""

from __future__ import annotations

import asyncio
from typing import Any

from verbinding_common.auth import Identity

from ..downstream import Downstream, ServiceUnavailable, segment

Section = dict[str, Any] | None


# What intake's 404 becomes inside the gather: the whole overview is then a 404.
_UNKNOWN: dict[str, Any] = {}


def unavailable(reason: str) -> dict[str, Any]:
    return {"unavailable": True, "reason": reason}


async def person_overview(*, intake: Downstream, case_plan: Downstream, employment: Downstream, identity: Identity,
                          person_id: str, timeout_s: float) -> dict[str, Section] | None:
    """Person (intake), case and latest action plan (case-plan), work (employment), all within `timeout_s`; a
    section that cannot be had in time says why. None when intake does not know the person.
    """
    deadline = asyncio.get_running_loop().time() + timeout_s
    person, (case, action_plan), work = await asyncio.gather(
        _person(intake=intake, identity=identity, person_id=person_id, timeout_s=timeout_s),
        _case_and_plan(case_plan=case_plan, identity=identity, person_id=person_id, deadline=deadline),
        _employment(employment=employment, identity=identity, person_id=person_id, timeout_s=timeout_s),
    )
    if person is _UNKNOWN:
        return None
    return {"person": person, "case": case, "action_plan": action_plan, "employment": work}


async def _employment(*, employment: Downstream, identity: Identity, person_id: str, timeout_s: float) -> Section:
    """Placements and the next retention check; None while employment has not (yet) heard of the person."""
    try:
        response = await employment.request("GET", f"/persons/{segment(person_id)}/employment", identity=identity,
                                            timeout_s=timeout_s)
    except ServiceUnavailable as exc:
        return unavailable(str(exc))
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        return unavailable(f"employment answered {response.status_code}")
    return response.json()


async def _person(*, intake: Downstream, identity: Identity, person_id: str, timeout_s: float) -> Section:
    try:
        response = await intake.request("GET", f"/persons/{segment(person_id)}", identity=identity,
                                        timeout_s=timeout_s)
    except ServiceUnavailable as exc:
        return unavailable(str(exc))
    if response.status_code == 404:
        return _UNKNOWN
    if response.status_code != 200:
        return unavailable(f"intake answered {response.status_code}")
    return response.json()


def _left(deadline: float) -> float:
    return max(0.001, deadline - asyncio.get_running_loop().time())


async def _case_and_plan(*, case_plan: Downstream, identity: Identity, person_id: str,
                         deadline: float) -> tuple[Section, Section]:
    # Two calls one after the other share one deadline: the overview as a whole answers in time.
    try:
        response = await case_plan.request("GET", f"/persons/{segment(person_id)}/case", identity=identity,
                                           timeout_s=_left(deadline))
    except ServiceUnavailable as exc:
        return unavailable(str(exc)), unavailable(str(exc))
    if response.status_code == 404:
        return None, None
    if response.status_code != 200:
        reason = f"case-plan answered {response.status_code}"
        return unavailable(reason), unavailable(reason)
    case = response.json()
    try:
        plan = await case_plan.request("GET", f"/cases/{segment(case['case_id'])}/action-plan", identity=identity,
                                       timeout_s=_left(deadline))
    except ServiceUnavailable as exc:
        return case, unavailable(str(exc))
    if plan.status_code == 404:
        return case, None
    if plan.status_code != 200:
        return case, unavailable(f"case-plan answered {plan.status_code}")
    return case, plan.json()
