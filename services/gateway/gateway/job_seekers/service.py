"""Employment's job seekers, then intake's working names for the whole page in one call (a few for a long list).

The name is never stored nor copied outside intake: employment holds codes only, and intake answers a name only to
the job hunter it knows serves the person. When intake does not answer, the list still does, its names marked
unavailable.
"""

from __future__ import annotations

import asyncio
from typing import Any

from verbinding_common.auth import Identity, Role
from verbinding_common.downstream import Downstream, ServiceUnavailable

# Intake's route answers at most this many persons a call (its MAX_PERSONS).
PAGE = 200
NOT_SHOWN = "only a job seeker's own job hunter sees their working name"


async def with_working_names(*, intake: Downstream, identity: Identity, seekers: list[dict[str, Any]],
                             timeout_s: float) -> dict[str, Any]:
    """The seekers, each with `working_name` (null when intake gave none), and whether the names could be had."""
    if Role.job_hunter in identity.roles:
        names, state = await _working_names(intake=intake, identity=identity, timeout_s=timeout_s,
                                            person_ids=[seeker["person_id"] for seeker in seekers])
    else:
        names, state = {}, {"available": False, "reason": NOT_SHOWN}
    return {"job_seekers": [{**seeker, "working_name": names.get(seeker["person_id"])} for seeker in seekers],
            "working_names": state}


async def _working_names(*, intake: Downstream, identity: Identity, person_ids: list[str],
                         timeout_s: float) -> tuple[dict[str, str], dict[str, Any]]:
    if not person_ids:
        return {}, {"available": True, "reason": None}
    pages = [person_ids[start:start + PAGE] for start in range(0, len(person_ids), PAGE)]
    try:
        async with asyncio.timeout(timeout_s):
            answers = await asyncio.gather(*(intake.request("GET", "/working-names", identity=identity,
                                                            params={"person_id": page}, timeout_s=timeout_s)
                                             for page in pages))
    except (ServiceUnavailable, TimeoutError) as exc:
        reason = str(exc) if isinstance(exc, ServiceUnavailable) else "intake unavailable: no answer in time"
        return {}, {"available": False, "reason": reason}
    if failed := next((answer.status_code for answer in answers if answer.status_code != 200), None):
        return {}, {"available": False, "reason": f"intake answered {failed}"}
    names = {row["person_id"]: row["working_name"] for answer in answers for row in answer.json()}
    return names, {"available": True, "reason": None}
