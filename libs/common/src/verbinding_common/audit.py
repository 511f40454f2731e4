"""The access audit every service holding records keeps: who read or was refused which record, when, and how."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal
from uuid import UUID

from fastapi import Request
from sqlalchemy import BigInteger, Column, DateTime, Identity, Index, MetaData, String, Table, Uuid, func, insert
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from .auth import Identity as Caller
from .auth import current_identity

Outcome = Literal["allowed", "refused", "not_found"]


def access_audit_table(metadata: MetaData) -> Table:
    """The access_audit table in a service's own metadata (its migration: create_access_audit_table_v1)."""
    table = Table(
        "access_audit", metadata,
        Column("id", BigInteger, Identity(always=True), primary_key=True),
        Column("at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("subject", String(255), nullable=False),
        Column("roles", ARRAY(String(32)), nullable=False),
        Column("team", String(64)),
        # The route template ("GET /persons/{person_id}"), never the path: no identifier of a person in it.
        Column("action", String(255), nullable=False),
        Column("record_kind", String(32), nullable=False),
        # No foreign key: the audit trail outlives the records it points at.
        Column("record_id", Uuid, nullable=False),
        Column("outcome", String(16), nullable=False),
    )
    Index("ix_access_audit_record", table.c.record_kind, table.c.record_id)
    return table


class AccessAudit:
    """One request's audit: reads shown are recorded in the request's transaction, refusals in one of their own
    (the request's transaction rolls back with the refusal)."""

    def __init__(self, *, table: Table, sessionmaker: async_sessionmaker[AsyncSession], caller: Caller,
                 action: str) -> None:
        self.table, self.sessionmaker, self.caller, self.action = table, sessionmaker, caller, action

    def _rows(self, kind: str, record_ids: Iterable[UUID], outcome: Outcome) -> list[dict[str, object]]:
        return [{"subject": self.caller.subject, "roles": [str(role) for role in self.caller.roles],
                 "team": self.caller.team, "action": self.action, "record_kind": kind, "record_id": record_id,
                 "outcome": outcome} for record_id in dict.fromkeys(record_ids)]

    async def allowed(self, session: AsyncSession, *, kind: str, record_ids: Iterable[UUID]) -> None:
        """Record that the caller is shown these records, in the same transaction as the read."""
        rows = self._rows(kind, record_ids, "allowed")
        if rows:
            await session.execute(insert(self.table), rows)

    async def refused(self, *, kind: str, record_id: UUID, outcome: Outcome = "refused") -> None:
        """Record a refused attempt ("not yours", or "not_found"), committed whatever the request does next."""
        await self.refused_many(kind=kind, record_ids=[record_id], outcome=outcome)

    async def refused_many(self, *, kind: str, record_ids: Iterable[UUID], outcome: Outcome = "refused") -> None:
        """`refused` for a batch of records (a page's lookup), in one transaction of its own."""
        rows = self._rows(kind, record_ids, outcome)
        if rows:
            async with self.sessionmaker() as session, session.begin():
                await session.execute(insert(self.table), rows)


def access_audit(table: Table) -> Callable[[Request], AccessAudit]:
    """A route dependency giving the request's AccessAudit (after the route's allow-list let the caller in)."""

    async def dependency(request: Request) -> AccessAudit:
        route = request.scope.get("route")
        action = f"{request.method} {getattr(route, 'path_format', None) or getattr(route, 'path', '?')}"
        return AccessAudit(table=table, sessionmaker=request.app.state.sessionmaker,
                           caller=current_identity(request), action=action)

    return dependency


def create_access_audit_table_v1() -> None:
    """The access_audit table as of v1, for a service's migration (a frozen snapshot, like any migration)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        "access_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.String(32)), nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("action", sa.String(255), nullable=False),
        sa.Column("record_kind", sa.String(32), nullable=False),
        sa.Column("record_id", sa.Uuid(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_access_audit"),
    )
    op.create_index("ix_access_audit_record", "access_audit", ["record_kind", "record_id"], unique=False)
