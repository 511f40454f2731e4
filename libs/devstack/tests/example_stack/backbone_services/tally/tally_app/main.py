"""A tiny service on the real backbone: POST /things writes a thing and its event; its own consumer applies it."""

import asyncio
from typing import ClassVar

from fastapi import APIRouter
from sqlalchemy import BigInteger, Column, Identity, Integer, MetaData, String, Table, insert
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.app import create_service_app
from verbinding_common.consumer import ConsumedEvent, ConsumerSpec
from verbinding_common.db import SessionDep
from verbinding_common.events import EventContract, contract
from verbinding_common.outbox import add_event
from verbinding_common.settings import ServiceSettings

metadata = MetaData()
thing = Table("thing", metadata, Column("id", BigInteger, Identity(), primary_key=True),
              Column("n", Integer, nullable=False))
effect = Table("effect", metadata, Column("id", BigInteger, Identity(), primary_key=True),
               Column("event_id", String(64), nullable=False), Column("n", Integer, nullable=False))


@contract
class Tallied(EventContract):
    event_type: ClassVar[str] = "example.tallied.v1"
    topic: ClassVar[str] = "example.tallies.v1"

    n: int


router = APIRouter()


@router.post("/things/{n}", status_code=201)
async def record(n: int, session: SessionDep) -> dict[str, int]:
    await session.execute(insert(thing).values(n=n))
    await add_event(session, Tallied(n=n), key=str(n % 7), source="tally")
    return {"n": n}


async def apply(session: AsyncSession, events: list[ConsumedEvent[Tallied]]) -> None:
    await asyncio.sleep(0.01 * len(events))  # slow enough that a backlog is still waiting when Ctrl-C comes
    await session.execute(insert(effect), [{"event_id": event.id, "n": event.data.n} for event in events])


app = create_service_app(settings=ServiceSettings(), title="tally", routers=[router],
                         consumers=[ConsumerSpec(events=[Tallied], handler=apply)])
