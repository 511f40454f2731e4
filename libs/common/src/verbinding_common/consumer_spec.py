"""What a consumer is declared with: the events it takes, the handler that applies them, and what a handler gets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession

from .events import Envelope, EventContract

T = TypeVar("T", bound=EventContract)


@dataclass(frozen=True)
class ConsumedEvent(Generic[T]):
    """One event handed to a handler: its envelope and its data, validated against the registered contract."""

    envelope: Envelope
    data: T
    record: ConsumerRecord

    @property
    def id(self) -> str:
        return self.envelope.id


@dataclass(frozen=True)
class BrokenEvent:
    """An event of a type the consumer takes whose data breaks its contract: its envelope (data unvalidated) and
    which fields broke which rule (never their values)."""

    envelope: Envelope
    record: ConsumerRecord
    problems: str

    @property
    def id(self) -> str:
        return self.envelope.id


Handler = Callable[[AsyncSession, list[ConsumedEvent[Any]]], Awaitable[None]]
BrokenHandler = Callable[[AsyncSession, list[BrokenEvent]], Awaitable[None]]


@dataclass(frozen=True)
class ConsumerSpec:
    """What a service consumes: the event contracts it takes, and the one function that applies them.

    `handler` gets the new events of a fetch (in fetch order, inside the fetch's transaction) and is the rule.
    When that transaction fails for a reason other than an outage, each event is applied again on its own by
    the same handler, given a list of one. Events of other types on the topics are skipped.

    An event of one of these types whose data breaks its contract is dead-lettered, unless `on_broken` is given:
    then it is handed to `on_broken` in the same transaction (after the handler) and recorded as processed, for a
    consumer whose producer must hear of it as a business answer (an event of its own). `on_broken` raises
    PoisonMessage for what it cannot answer either; that event is then dead-lettered. A record that is not an
    event envelope at all is always dead-lettered.
    """

    handler: Handler
    events: Sequence[type[EventContract]]
    topics: Sequence[str] = ()
    group_id: str | None = None
    on_broken: BrokenHandler | None = None

    def subscribed_topics(self) -> list[str]:
        return list(self.topics) or sorted({contract.topic for contract in self.events})


@dataclass
class ConsumerStats:
    handled: int = 0
    duplicates: int = 0
    dead_lettered: int = 0
    retries: int = 0
    outage_waits: int = 0
