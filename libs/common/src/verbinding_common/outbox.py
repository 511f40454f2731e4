"""The transactional outbox: an event is written in the same transaction as the change it reports."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .events import Envelope, EventContract, build_envelope
from .telemetry import current_traceparent

# pg_advisory_xact_lock(ns, hashtext(key)) before the row gets its id: transactions writing events for the same key
# are serialised until commit, so outbox ids of one key follow commit order (a relay paging by id would otherwise
# skip a row whose transaction committed late).
KEY_LOCK_NAMESPACE = 0x0B0C
_STAGED = "verbinding_outbox_staged"

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

_wakeups: list[Callable[[], None]] = []


async def add_event(session: AsyncSession, event_: EventContract, *, key: str, source: str,
                    subject: str | None = None, topic: str | None = None) -> Envelope:
    """Stage `event_` for publication (on its contract's topic unless `topic` is given); it is published
    only if the transaction commits."""
    traceparent = current_traceparent()
    envelope = build_envelope(event_, source=source, subject=subject or key, traceparent=traceparent)
    await session.execute(_INSERT, {
        "namespace": KEY_LOCK_NAMESPACE, "key": key, "event_id": envelope.id, "topic": topic or event_.topic,
        "event_type": envelope.type, "envelope": envelope.model_dump_json(), "traceparent": traceparent,
    })
    session.sync_session.info[_STAGED] = True
    return envelope


async def add_events(session: AsyncSession, items: Sequence[tuple[EventContract, str, str | None]], *, source: str,
                     topic: str | None = None) -> list[Envelope]:
    """Stage many events, given as (event, key, traceparent), in one statement: published in the given order
    (per key, also after transactions writing the same keys), and only if the transaction commits."""
    if not items:
        return []
    envelopes = [build_envelope(event_, source=source, subject=key, traceparent=traceparent)
                 for event_, key, traceparent in items]
    await session.execute(_INSERT_MANY, {
        "namespace": KEY_LOCK_NAMESPACE,
        "locked_keys": sorted({key for _, key, _ in items}),
        "event_ids": [envelope.id for envelope in envelopes],
        "topics": [topic or event_.topic for event_, _, _ in items],
        "keys": [key for _, key, _ in items],
        "event_types": [envelope.type for envelope in envelopes],
        "envelopes": [envelope.model_dump_json() for envelope in envelopes],
        "traceparents": [traceparent for _, _, traceparent in items],
    })
    session.sync_session.info[_STAGED] = True
    return envelopes


def on_commit_wake(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` after every commit in this process that staged events (the relay's wake-up); returns
    a function that removes it. Relays in other processes find the rows by polling."""
    _wakeups.append(callback)
    return lambda: _wakeups.remove(callback) if callback in _wakeups else None


@event.listens_for(Session, "after_commit")
def _wake_relays(session: Session) -> None:
    if session.info.pop(_STAGED, False):
        for callback in list(_wakeups):
            callback()


@event.listens_for(Session, "after_rollback")
def _forget_staged(session: Session) -> None:
    session.info.pop(_STAGED, None)
