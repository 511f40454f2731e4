"""Who sees what: an NGO partner its own organisation's shelters and residents, a programme coordinator those of
the programme they coordinate (the identity's organisation claim names it: `lvv`, `dublin`, `emergency`).
Anything else answers like a record that does not exist."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import Depends
from sqlalchemy import ColumnElement, false
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit, access_audit
from verbinding_common.auth import Identity, Role
from verbinding_common.contracts.shelter import Programme
from verbinding_common.errors import Forbidden, NotFound

from .audit.models import AccessAuditTable

AuditDep = Annotated[AccessAudit, Depends(access_audit(AccessAuditTable))]


@dataclass(frozen=True)
class Scope:
    """The shelters and residents a caller may see: of one operator NGO, or of one programme (or none)."""

    operator: str | None = None
    programme: Programme | None = None

    def covers(self, *, operator: str, programme: str) -> bool:
        if self.operator is not None:
            return operator == self.operator
        return self.programme is not None and programme == self.programme

    def where(self, operator: ColumnElement[str], programme: ColumnElement[str]) -> ColumnElement[bool]:
        """The same rule as a WHERE clause over a table's operator and programme columns."""
        if self.operator is not None:
            return operator == self.operator
        if self.programme is not None:
            return programme == self.programme.value
        return false()


def scope_of(identity: Identity) -> Scope:
    """The caller's scope: an NGO partner is bound to its organisation, a coordinator to its programme."""
    if Role.ngo_partner in identity.roles and identity.organisation:
        return Scope(operator=identity.organisation)
    if Role.programme_coordinator in identity.roles and identity.organisation in Programme.__members__:
        return Scope(programme=Programme(identity.organisation))
    return Scope()


def coordinated_programme(identity: Identity) -> Programme:
    """The programme a coordinator coordinates; Forbidden for anyone else."""
    scope = scope_of(identity)
    if scope.programme is None:
        raise Forbidden("only the programme's coordinator may do this")
    return scope.programme


async def audited(*, session: AsyncSession, audit: AccessAudit | None, kind: str, record_id: UUID,
                  found: object | None, allowed: bool) -> None:
    """Audit a read of a resident or placement (the caller shown it, or refused) and refuse alike whether it is
    not the caller's or does not exist."""
    if found is not None and allowed:
        if audit is not None:
            await audit.allowed(session, kind=kind, record_ids=[record_id])
        return
    if audit is not None:
        await audit.refused(kind=kind, record_id=record_id, outcome="not_found" if found is None else "refused")
    raise NotFound(f"no {kind} {record_id}")
