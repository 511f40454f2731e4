"""The transactional outbox: an event is written in the same transaction as the change it reports.

Each staged event carries the trace and the causation of what caused it. A consumer applying events says so
(`applying`): an event staged with `caused_by=` one of them (its envelope, or the typed data the handler was
given) continues that event's process span and names it as its cause; with one event being applied, that one
is the cause by default. Outside a consumer, the current span (a request's) is the parent and there is no cause.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from contextvars import ContextVar
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from .db import EVENT_SOURCE
from .events import Envelope, EventContract, build_envelope
from .jobs import CommitSignal
from .telemetry import current_traceparent

# pg_advisory_xact_lock(ns, hashtext(key)) before the row gets its id: transactions writing events for the same key
# are serialised until commit, so outbox ids of one key follow commit order (a relay paging by id would otherwise
# skip a row whose transaction committed late).
KEY_LOCK_NAMESPACE = 0x0B0C

_INSERT = text("""
    WITH key_lock AS (SELECT pg_advisory_xact_lock(:namespace, hashtext(:key)))
    INSERT INTO outbox (event_id, topic, key, event_type, envelope, traceparent)
    SELECT :event_id, :topic, :key, :event_type, CAST(:envelope AS jsonb), :traceparent FROM key_lock
""")

# The same per-key locks for a batch, taken in sorted key order (two batches cannot deadlock on each other) by an
# aggregate that ends before the join yields its first row: every lock is held before any row draws its id.
_INSERT_MANY = text("""
    WITH key_locks AS (
        SELECT count(pg_advisory_xact_lock(:namespace, hashtext(locked.key)))
        FROM unnest(CAST(:locked_keys AS text[])) AS locked(key)
    )
    INSERT INTO outbox (event_id, topic, key, event_type, envelope, traceparent)
    SELECT staged.event_id, staged.topic, staged.key, staged.event_type, CAST(staged.envelope AS jsonb),
           staged.traceparent
    FROM key_locks, unnest(CAST(:event_ids AS text[]), CAST(:topics AS text[]), CAST(:keys AS text[]),
                           CAST(:event_types AS text[]), CAST(:envelopes AS text[]), CAST(:traceparents AS text[]))
         WITH ORDINALITY AS staged(event_id, topic, key, event_type, envelope, traceparent, position)
    ORDER BY staged.position
""")

# Marked by every transaction that stages events: its commit wakes this process's relays at once.
OUTBOX_STAGED = CommitSignal("outbox")


@dataclass(frozen=True)
class Cause:
    """An event being applied: its id, and the traceparent of its process span."""

    event_id: str
    traceparent: str | None


@dataclass(frozen=True)
class _Applying:
    by_object: dict[int, Cause]
    sole: Cause | None


_applying: ContextVar[_Applying | None] = ContextVar("verbinding_applying", default=None)


@contextlib.contextmanager
def applying(causes: Sequence[tuple[Sequence[object], Cause]]) -> Iterator[None]:
    """While a consumer's handler runs: which objects (envelope, typed data...) stand for which event."""
    by_object = {id(obj): cause for objects, cause in causes for obj in objects}
    token = _applying.set(_Applying(by_object, causes[0][1] if len(causes) == 1 else None))
    try:
        yield
    finally:
        _applying.reset(token)


def _cause_of(caused_by: object | None) -> tuple[str | None, str | None]:
    """(traceparent, causation id) for an event staged now, caused by `caused_by` (see the module docstring)."""
    state = _applying.get()
    known = state.by_object.get(id(caused_by)) if state is not None and caused_by is not None else None
    if known is not None:
        return known.traceparent, known.event_id
    if isinstance(caused_by, Envelope):
        return caused_by.traceparent or current_traceparent(), caused_by.id
    if state is not None and state.sole is not None:
        return state.sole.traceparent, state.sole.event_id
    return current_traceparent(), None


async def add_event(session: AsyncSession, event_: EventContract, *, key: str, source: str | None = None,
                    subject: str | None = None, topic: str | None = None, caused_by: object | None = None) -> Envelope:
    """Stage `event_` for publication (on its contract's topic unless `topic` is given); it is published
    only if the transaction commits. `source` defaults to the session's (the service's name)."""
    traceparent, causation_id = _cause_of(caused_by)
    envelope = build_envelope(event_, source=source or event_source(session), subject=subject or key,
                              traceparent=traceparent, causation_id=causation_id)
    await session.execute(_INSERT, {
        "namespace": KEY_LOCK_NAMESPACE, "key": key, "event_id": envelope.id, "topic": topic or event_.topic,
        "event_type": envelope.type, "envelope": envelope.model_dump_json(), "traceparent": traceparent,
    })
    OUTBOX_STAGED.mark(session)
    return envelope


Staged = tuple[EventContract, str] | tuple[EventContract, str, object]


async def add_events(session: AsyncSession, items: Sequence[Staged], *, source: str | None = None,
                     topic: str | None = None, event_ids: Sequence[str] | None = None) -> list[Envelope]:
    """Stage many events, given as (event, key) or (event, key, caused_by), in one statement: published in the
    given order (per key, also after transactions writing the same keys), and only if the transaction commits.
    `source` defaults to the session's (the service's name). `event_ids`, when given, are the events' ids (one per
    item; e.g. derived from a request, so a resend is recognised)."""
    if not items:
        return []
    source = source or event_source(session)
    ids = list(event_ids) if event_ids is not None else [None] * len(items)
    if len(ids) != len(items):
        raise ValueError(f"{len(ids)} event ids for {len(items)} events")
    staged = [(item[0], item[1], *_cause_of(item[2] if len(item) > 2 else None)) for item in items]
    envelopes = [build_envelope(event_, source=source, subject=key, traceparent=traceparent,
                                causation_id=causation_id, event_id=event_id)
                 for (event_, key, traceparent, causation_id), event_id in zip(staged, ids, strict=True)]
    await session.execute(_INSERT_MANY, {
        "namespace": KEY_LOCK_NAMESPACE,
        "locked_keys": sorted({key for _, key, _, _ in staged}),
        "event_ids": [envelope.id for envelope in envelopes],
        "topics": [topic or event_.topic for event_, _, _, _ in staged],
        "keys": [key for _, key, _, _ in staged],
        "event_types": [envelope.type for envelope in envelopes],
        "envelopes": [envelope.model_dump_json() for envelope in envelopes],
        "traceparents": [traceparent for _, _, traceparent, _ in staged],
    })
    OUTBOX_STAGED.mark(session)
    return envelopes


def event_source(session: AsyncSession) -> str:
    """The CloudEvents source of the events `session` stages: the service's name, set by the app factory."""
    source = session.info.get(EVENT_SOURCE)
    if not source:
        raise ValueError("this session has no event source: make it with "
                         "create_sessionmaker(engine, event_source=settings.service_name)")
    return source
