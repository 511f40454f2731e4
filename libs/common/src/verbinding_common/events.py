"""The event envelope (CloudEvents 1.0 + traceparent and causationid) and the registry of event contracts."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION = "1.0"


class Envelope(BaseModel):
    """CloudEvents 1.0 attributes plus two extension attributes: the W3C traceparent, and `causationid`, the id
    of the event whose handling caused this one (none for an event a request caused); `data` holds the
    contract's fields."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=64)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    specversion: str = SPEC_VERSION
    time: datetime
    subject: str | None = None
    datacontenttype: str = "application/json"
    traceparent: str | None = None
    causationid: str | None = Field(default=None, max_length=64)
    data: dict[str, Any]

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes) -> Envelope:
        return cls.model_validate_json(raw)


@dataclass(frozen=True)
class Contract:
    """One event type: its name with version, the topic it travels on, and its pydantic model."""

    type: str
    topic: str
    model: type[BaseModel]


class EventContract(BaseModel):
    """Base class of every event payload. Subclasses declare `event_type`, `topic` and `key_field` as class
    variables, and `producers` when the topic's owner is not (only) the service that publishes it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    topic: ClassVar[str]
    # The field whose value is the record's key (the aggregate id): one aggregate's events stay in order.
    key_field: ClassVar[str]
    # Who publishes it, when not only the service the topic is named after (`<owner>.<stream>.v<major>`):
    # services, or outside parties such as the COA. The event catalogue and the broker's ACLs read this.
    producers: ClassVar[tuple[str, ...]] = ()
    # How long the broker keeps the topic's records (and its dead letters), when shorter than the default: for events
    # that carry personal data to one consumer, which has no use for them once applied.
    topic_retention_hours: ClassVar[int | None] = None


ContractT = TypeVar("ContractT", bound=type[EventContract])

_registry: dict[str, Contract] = {}


def contract(cls: ContractT) -> ContractT:
    """Register an event contract class (decorator)."""
    existing = _registry.get(cls.event_type)
    if existing is not None and existing.model is not cls:
        raise ValueError(f"event type {cls.event_type} is registered twice")
    _registry[cls.event_type] = Contract(type=cls.event_type, topic=cls.topic, model=cls)
    return cls


def registered_contracts() -> dict[str, Contract]:
    return dict(sorted(_registry.items()))


def contract_for(event_type: str) -> Contract:
    try:
        return _registry[event_type]
    except KeyError:
        raise LookupError(f"no contract registered for event type {event_type!r}") from None


def build_envelope(event: EventContract, *, source: str, subject: str | None = None,
                   traceparent: str | None = None, event_id: str | None = None,
                   causation_id: str | None = None) -> Envelope:
    return Envelope(
        id=event_id or str(uuid.uuid4()),
        source=source,
        type=event.event_type,
        time=datetime.now(UTC),
        subject=subject,
        traceparent=traceparent,
        causationid=causation_id,
        data=event.model_dump(mode="json"),
    )


def parse_data(envelope: Envelope) -> EventContract:
    """Validate an envelope's data against the contract its type names."""
    return contract_for(envelope.type).model.model_validate(envelope.data)


def json_schema(contract_: Contract) -> dict[str, Any]:
    schema = contract_.model.model_json_schema()
    schema["$id"] = contract_.type
    schema["x-topic"] = contract_.topic
    return schema
