"""Erased persons' COA numbers, kept a while as keyed hashes only: the COA re-sending an erased person's recognition
(a retry, a stale queue, an operator's replay) gets a rejection it can see (`erased`), not a person registered again
from its old copy; after `VERBINDING_ERASED_COA_NUMBER_DAYS` the hash is purged and the number is new again."""

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from .models import ErasedCoaNumber


def number_hash(pepper: bytes, number: str) -> bytes:
    """Keyed, so that a copy of the table cannot be tested against the (short, guessable) COA numbers."""
    return hmac.new(pepper, number.encode(), hashlib.sha256).digest()


async def remember_erased_numbers(*, session: AsyncSession, numbers: Iterable[str], pepper: bytes,
                                  until: datetime) -> None:
    rows = [{"number_hash": number_hash(pepper, number), "expires_at": until} for number in set(numbers)]
    if rows:
        statement = pg_insert(ErasedCoaNumber).values(rows)
        await session.execute(statement.on_conflict_do_update(
            index_elements=[ErasedCoaNumber.number_hash],
            set_={"expires_at": func.greatest(ErasedCoaNumber.expires_at, statement.excluded.expires_at)}))


async def erased_numbers(*, session: AsyncSession, numbers: Iterable[str], pepper: bytes) -> set[str]:
    """Those of `numbers` that belonged to a person erased less than the period ago."""
    hashes = {number_hash(pepper, number): number for number in set(numbers)}
    if not hashes:
        return set()
    found = await session.scalars(select(ErasedCoaNumber.number_hash).where(
        ErasedCoaNumber.number_hash.in_(list(hashes)), ErasedCoaNumber.expires_at > func.now()))
    return {hashes[bytes(found_hash)] for found_hash in found}


async def purge_expired_numbers(*, session: AsyncSession, now: datetime) -> None:
    await session.execute(delete(ErasedCoaNumber).where(ErasedCoaNumber.expires_at <= now))
