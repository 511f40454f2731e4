"""Writing audit entries (in the caller's transaction) and a separate one for refusals (it must outlive a rollback)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .models import AuditEntry


def record(*, session: AsyncSession, actor: str, action: str, report_id: uuid.UUID | None, outcome: str) -> None:
    """Audit an action inside the transaction that performs it."""
    session.add(AuditEntry(actor=actor, action=action, report_id=report_id, outcome=outcome))


async def record_refusal(*, sessionmaker: async_sessionmaker[AsyncSession], actor: str, action: str,
                         report_id: uuid.UUID | None) -> None:
    """Audit a refused attempt in a transaction of its own, so the refusal's rollback does not erase it."""
    async with sessionmaker() as session, session.begin():
        session.add(AuditEntry(actor=actor, action=action, report_id=report_id, outcome="refused"))
