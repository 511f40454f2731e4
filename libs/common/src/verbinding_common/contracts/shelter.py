"""Events shelter-placement publishes: free places per shelter (`shelter.capacity.v1`, keyed by shelter id) and
placements (`shelter.placements.v1`, keyed by placement id). No personal data: residents only by pseudonymous id."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, ClassVar
from uuid import UUID

from pydantic import Field

from ..events import EventContract, contract

CAPACITY_TOPIC = "shelter.capacity.v1"
PLACEMENTS_TOPIC = "shelter.placements.v1"
# The topics are named for the domain (`shelter.*`), published by the shelter-placement service.
PRODUCER = "shelter-placement"


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


ShelterId = Annotated[UUID, Field(description="the shelter (the record key of capacity events)")]
PlacementId = Annotated[UUID, Field(description="the placement (the record key of placement events)")]
ResidentId = Annotated[UUID, Field(description="pseudonymous: only shelter-placement can tell who it is")]
PlacementShelter = Annotated[UUID, Field(description="the shelter the resident stays in")]
EndsOn = Annotated[date, Field(description="the last day of the stay, fixed at its start by the programme's "
                                           "maximum stay")]


@contract
class ShelterCapacityChanged(EventContract):
    """The free places of one shelter after a change of capacity, occupancy or status. NGO systems consume it
    (Kafka, webhooks, server-sent events through the gateway): `sequence` grows by one per change of the shelter."""

    event_type: ClassVar[str] = "shelter.capacity-changed.v1"
    topic: ClassVar[str] = CAPACITY_TOPIC
    key_field: ClassVar[str] = "shelter_id"
    producers: ClassVar[tuple[str, ...]] = (PRODUCER,)

    shelter_id: ShelterId
    sequence: int = Field(ge=1, description="per shelter, one higher on every change; receivers order by it")
    shelter_name: str = Field(description="the shelter's name, for the NGO systems' screens")
    programme: Programme
    neighbourhood: str = Field(description="where the shelter is: NGOs refer people to a place near them")
    operator: str = Field(description="the operator NGO's organisation")
    status: ShelterStatus = Field(description="planned, consulted, open, closing or closed: only an open shelter "
                                              "takes residents")
    capacity: int = Field(ge=0, description="beds in the shelter")
    occupied: int = Field(ge=0, description="beds taken; never above capacity")
    available: int = Field(ge=0, description="places a placement could take now (0 unless the shelter is open)")
    changed_at: datetime = Field(description="when the change was made (its transaction)")


@contract
class PlacementStarted(EventContract):
    """A resident took a place in a shelter; the stay ends on `ends_on` at the latest (the programme's maximum)."""

    event_type: ClassVar[str] = "shelter.placement-started.v1"
    topic: ClassVar[str] = PLACEMENTS_TOPIC
    key_field: ClassVar[str] = "placement_id"
    producers: ClassVar[tuple[str, ...]] = (PRODUCER,)

    placement_id: PlacementId
    resident_id: ResidentId
    shelter_id: PlacementShelter
    programme: Programme
    started_on: date = Field(description="the first day of the stay")
    ends_on: EndsOn
    from_waitlist: bool = Field(description="whether the resident waited for a bed first")


@contract
class PlacementWarned(EventContract):
    """The stay's end is near: the warning that came due `lead_days` before `ends_on`."""

    event_type: ClassVar[str] = "shelter.placement-warned.v1"
    topic: ClassVar[str] = PLACEMENTS_TOPIC
    key_field: ClassVar[str] = "placement_id"
    producers: ClassVar[tuple[str, ...]] = (PRODUCER,)

    placement_id: PlacementId
    resident_id: ResidentId
    shelter_id: PlacementShelter
    programme: Programme
    ends_on: EndsOn


@contract
class PlacementEnded(EventContract):
    """The resident left; the place is free again."""

    event_type: ClassVar[str] = "shelter.placement-ended.v1"
    topic: ClassVar[str] = PLACEMENTS_TOPIC
    key_field: ClassVar[str] = "placement_id"
    producers: ClassVar[tuple[str, ...]] = (PRODUCER,)

    placement_id: PlacementId
    resident_id: ResidentId
    shelter_id: PlacementShelter
    programme: Programme
    ended_on: date = Field(description="the day the resident left")
    outcome: StayOutcome = Field(description="legal residence, onward migration, return or other: what the stay "
                                             "led to")
