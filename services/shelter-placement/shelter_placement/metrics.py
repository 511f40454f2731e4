"""Shelter-placement's gauges: each programme's waitlist and free beds in its open shelters, sampled every 15 s."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from verbinding_common.contracts.shelter import Programme
from verbinding_common.metrics import gauge, sampled

from .placements.models import Placement
from .shelters.models import Shelter

waitlist_length = gauge("verbinding.shelter.waitlist", unit="{request}",
                        description="Placement requests waiting for a bed, per programme")
free_beds = gauge("verbinding.shelter.free_beds", unit="{bed}",
                  description="Beds free in the programme's open shelters")


async def sample(conn: AsyncConnection) -> None:
    waiting = dict((await conn.execute(
        select(Placement.programme, func.count()).where(Placement.status == "waitlisted")
        .group_by(Placement.programme))).all())
    free = dict((await conn.execute(
        select(Shelter.programme, func.sum(Shelter.capacity - Shelter.occupied)).where(Shelter.status == "open")
        .group_by(Shelter.programme))).all())
    for programme in Programme:
        waitlist_length.set(waiting.get(programme.value, 0), {"programme": programme.value})
        free_beds.set(int(free.get(programme.value) or 0), {"programme": programme.value})


shelter_gauges = sampled(name="shelter-metrics", sample=sample)
