"""Recording who read which person's record: in the same transaction as the read itself."""

from collections.abc import Iterable
from dataclasses import dataclass
from uuid import UUID

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import ReadAudit


@dataclass(frozen=True)
class Reader:
    """A caller reading person records: who (subject and roles) and through which route."""

    subject: str
    roles: tuple[str, ...]
    route: str


async def record_reads(*, session: AsyncSession, reader: Reader, person_ids: Iterable[UUID]) -> None:
    """Write one read_audit row per person record the reader is shown."""
    rows = [{"subject": reader.subject, "roles": list(reader.roles), "person_id": person_id, "route": reader.route}
            for person_id in dict.fromkeys(person_ids)]
    if rows:
        await session.execute(insert(ReadAudit), rows)
