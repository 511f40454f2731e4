"""The transactional outbox: an event is written in the same transaction as the change it reports."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

from .events import Envelope, EventContract, build_envelope
from .telemetry import current_traceparent

# pg_advisory_xact_lock(ns, hashtext(key)) before the row gets its id: transactions writing events for the same key
# are serialised until commit, so outbox ids of one key follow commit order (PITFALLS: late commits).
KEY_LOCK_NAMESPACE = 0x0B0C
_STAGED = "verbinding_outbox_staged"

_INSERT = text("""
    WITH key_lock AS (SELECT pg_advisory_xact_lock(:namespace, hashtext(:key)))
    INSERT INTO outbox (event_id, topic, key, event_type, envelope, traceparent)
    SELECT :event_id, :topic, :key, :event_type, CAST(:envelope AS jsonb), :traceparent FROM key_lock
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
