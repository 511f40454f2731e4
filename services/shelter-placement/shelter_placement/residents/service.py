"""Registering residents and finding them within the caller's scope."""

from __future__ import annotations

from uuid import UUID

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.audit import AccessAudit
from verbinding_common.contracts.shelter import Programme
from verbinding_common.errors import Conflict

from ..access import Scope, audited
from .models import Resident, Vulnerability


async def register_resident(*, session: AsyncSession, operator: str, programme: Programme, pseudonym: str,
                            year_of_birth: int, languages: list[str], vulnerability: Vulnerability,
                            scope: Scope | None = None) -> Resident:
    """Register a resident of an operator NGO in a programme; the pseudonym is unique per operator (a Conflict
    names the resident who has it, when the caller's `scope` may see them)."""
    resident_id = await session.scalar(
        pg_insert(Resident)
        .values(operator=operator, programme=programme.value, pseudonym=pseudonym, year_of_birth=year_of_birth,
                languages=list(dict.fromkeys(languages)), vulnerability=vulnerability.value)
        .on_conflict_do_nothing(constraint="uq_resident_operator_pseudonym")
        .returning(Resident.id))
    if resident_id is None:
        existing = (await session.execute(select(Resident.id, Resident.programme).where(
            Resident.operator == operator, Resident.pseudonym == pseudonym))).one_or_none()
        if existing is not None and scope is not None and scope.covers(operator=operator,
                                                                       programme=existing.programme):
            raise Conflict(f"this operator already has resident {existing.id} with that pseudonym",
                           existing_id=existing.id, location=f"residents/{existing.id}")
        raise Conflict("this operator already has a resident with that pseudonym")
    return await session.get_one(Resident, resident_id)


async def get_resident(*, session: AsyncSession, resident_id: UUID, scope: Scope,
                       audit: AccessAudit | None = None) -> Resident:
    """The resident, if the caller's scope covers them (audited); NotFound alike for "not yours" and "no such
    resident"."""
    resident = await session.get(Resident, resident_id)
    await audited(session=session, audit=audit, kind="resident", record_id=resident_id, found=resident,
                  allowed=resident is not None and scope.covers(operator=resident.operator,
                                                                programme=resident.programme))
    assert resident is not None
    return resident


async def list_residents(*, session: AsyncSession, scope: Scope, limit: int = 100, offset: int = 0,
                         audit: AccessAudit | None = None) -> list[Resident]:
    """The residents the caller may see (audited), in pseudonym order."""
    residents = list(await session.scalars(
        select(Resident).where(scope.where(Resident.operator, Resident.programme))
        .order_by(Resident.operator, Resident.pseudonym, Resident.id).limit(limit).offset(offset)))
    if residents and audit is not None:
        await audit.allowed(session, kind="resident", record_ids=[resident.id for resident in residents])
    return residents
