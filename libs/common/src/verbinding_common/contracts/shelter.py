"""Events shelter-placement publishes: free places per shelter (`shelter.capacity.v1`, keyed by shelter id) and
placements (`shelter.placements.v1`, keyed by placement id). No personal data: residents only by pseudonymous id."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar
from uuid import UUID

from pydantic import Field

from ..events import EventContract, contract

CAPACITY_TOPIC = "shelter.capacity.v1"
PLACEMENTS_TOPIC = "shelter.placements.v1"


class Programme(StrEnum):
    """LVV: 24-hour shelters for undocumented migrants; Dublin: people with Dublin status; emergency: bed-bath-bread."""

    lvv = "lvv"
    dublin = "dublin"
    emergency = "emergency"


class ShelterStatus(StrEnum):
    planned = "planned"
    consulted = "consulted"
    open = "open"
    closing = "closing"
    closed = "closed"


class StayOutcome(StrEnum):
    legal_residence = "legal_residence"
    onward_migration = "onward_migration"
    return_ = "return"
    other = "other"


@contract
class ShelterCapacityChanged(EventContract):
    """The free places of one shelter after a change of capacity, occupancy or status. NGO systems consume it
    (Kafka, webhooks, server-sent events through the gateway): `sequence` grows by one per change of the shelter."""

    event_type: ClassVar[str] = "shelter.capacity-changed.v1"
    topic: ClassVar[str] = CAPACITY_TOPIC

    shelter_id: UUID
    sequence: int = Field(ge=1, description="per shelter, one higher on every change; receivers order by it")
    shelter_name: str
    programme: Programme
    neighbourhood: str
    operator: str = Field(description="the operator NGO's organisation")
    status: ShelterStatus
    capacity: int = Field(ge=0)
    occupied: int = Field(ge=0)
    available: int = Field(ge=0, description="places a placement could take now (0 unless the shelter is open)")
    changed_at: datetime


@contract
class PlacementStarted(EventContract):
    """A resident took a place in a shelter; the stay ends on `ends_on` at the latest (the programme's maximum)."""

    event_type: ClassVar[str] = "shelter.placement-started.v1"
    topic: ClassVar[str] = PLACEMENTS_TOPIC

    placement_id: UUID
    resident_id: UUID = Field(description="pseudonymous: only shelter-placement can tell who it is")
    shelter_id: UUID
    programme: Programme
    started_on: date
    ends_on: date
    from_waitlist: bool


@contract
class PlacementWarned(EventContract):
    """The stay's end is near: the warning that came due `lead_days` before `ends_on`."""

    event_type: ClassVar[str] = "shelter.placement-warned.v1"
    topic: ClassVar[str] = PLACEMENTS_TOPIC

    placement_id: UUID
    resident_id: UUID
    shelter_id: UUID
    programme: Programme
    ends_on: date


@contract
class PlacementEnded(EventContract):
    """The resident left; the place is free again."""

    event_type: ClassVar[str] = "shelter.placement-ended.v1"
    topic: ClassVar[str] = PLACEMENTS_TOPIC

    placement_id: UUID
    resident_id: UUID
    shelter_id: UUID
    programme: Programme
    ended_on: date
    outcome: StayOutcome
