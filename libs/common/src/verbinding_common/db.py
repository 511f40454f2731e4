"""Async database engine and sessions (SQLAlchemy 2 + asyncpg), and the backbone's own tables."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Identity,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    event,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

# Where a session keeps the CloudEvents `source` of the events it stages (see outbox.add_event).
EVENT_SOURCE = "verbinding_event_source"
# A pooled connection unused for longer than this is pinged before it is handed out (see create_engine).
IDLE_PING_S = 10.0
_LAST_USED = "verbinding_last_used"

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def service_metadata() -> MetaData:
    """A fresh MetaData for one service's tables (its `Base` in <package>/database.py), with our naming convention."""
    return MetaData(naming_convention=NAMING_CONVENTION)


# The outbox, the consumer ledger and the idempotency keys live in every service's own database; each service's
# Alembic env includes this metadata beside its own.
backbone_metadata = service_metadata()

outbox_table = Table(
    "outbox",
    backbone_metadata,
    Column("id", BigInteger, Identity(always=True), primary_key=True),
    Column("event_id", String(64), nullable=False, unique=True),
    Column("topic", String(255), nullable=False),
    Column("key", String(255), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("envelope", JSONB, nullable=False),
    Column("traceparent", String(64)),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("published_at", DateTime(timezone=True)),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("last_error", Text),
)
# The relay's hot query: unpublished rows in commit order.
Index("ix_outbox_unpublished", outbox_table.c.id, postgresql_where=outbox_table.c.published_at.is_(None))

relay_state_table = Table(
    "outbox_relay_state",
    backbone_metadata,
    Column("name", String(64), primary_key=True),
    Column("broker_epoch", String(64)),
    Column("updated_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

processed_event_table = Table(
    "processed_event",
    backbone_metadata,
    Column("consumer_group", String(128), primary_key=True),
    Column("event_id", String(64), primary_key=True),
    Column("topic", String(255), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("processed_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
)

# Idempotency-Key answers (verbinding_common.idempotency), written in the transaction of the write they answer.
# `lookup` is a hash of the caller and the key, the body is encrypted with a key derived from the client's key:
# without the clients' keys the table reveals nothing.
idempotency_key_table = Table(
    "idempotency_key",
    backbone_metadata,
    Column("lookup", LargeBinary, primary_key=True),
    Column("fingerprint", LargeBinary, nullable=False),
    Column("status", SmallInteger, nullable=False),
    Column("headers", JSONB, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("nonce", LargeBinary, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
    Column("expires_at", DateTime(timezone=True), nullable=False),
)
# The purge's query: rows past their expiry.
Index("ix_idempotency_key_expires_at", idempotency_key_table.c.expires_at)


def create_engine(database_url: str, *, pool_size: int = 10, statement_timeout_ms: int = 0) -> AsyncEngine:
    """An asyncpg engine; a plain postgresql:// URL is rewritten to the asyncpg driver.

    `statement_timeout_ms` bounds every statement on the engine's connections (PostgreSQL's statement_timeout, sent
    when a connection opens, so a transaction pays no round trip for it); 0 leaves them unbounded."""
    connect_args: dict[str, Any] = {}
    if statement_timeout_ms:
        connect_args["server_settings"] = {"statement_timeout": str(int(statement_timeout_ms))}
    # Up to twice `pool_size` connections, each kept once opened: overflow connections closed after every burst were
    # opened again by the next (a new backend and a TLS attempt each: 3% of shelter-placement's CPU in a burst).
    # hide_parameters: a database error's text would otherwise quote the statement's values (names, birth
    # dates) into logs, span events and dead letters.
    engine = create_async_engine(asyncpg_url(database_url), pool_size=2 * pool_size, max_overflow=0,
                                 hide_parameters=True, connect_args=connect_args)
    _ping_when_idle(engine)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Hand out a pooled connection that sat unused past IDLE_PING_S only once it answers a ping (a restarted
    database has closed it; the pool then opens a new one). SQLAlchemy's pool_pre_ping would ping on every checkout,
    three round trips with asyncpg (BEGIN, the ping, ROLLBACK): a connection in use a moment ago needs none."""
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    @event.listens_for(pool, "checkin")
    def used(dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_USED] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def ping_if_idle(dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_USED, 0.0) > IDLE_PING_S:
            try:
                dbapi_connection.ping()
            except Exception as exc:
                raise DisconnectionError("an idle connection did not answer its ping") from exc


def asyncpg_url(database_url: str) -> str:
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        url = url.set(drivername="postgresql+asyncpg")
    return url.render_as_string(hide_password=False)


def libpq_dsn(database_url: str) -> str:
    """The same URL in the form asyncpg.connect() takes."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_sessionmaker(engine: AsyncEngine, *, event_source: str | None = None) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; events staged in them carry `event_source` (the service's name) as their source."""
    info: dict[str, object] = {EVENT_SOURCE: event_source} if event_source else {}
    return async_sessionmaker(engine, expire_on_commit=False, info=info)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session and one transaction per request: committed when the route returns, else rolled back.

    Its statements are bounded by the request engine's statement_timeout (create_service_app): the caller, the
    gateway, has given up by then, so the work stops and rolls back (a 503, nothing done) instead of committing for
    nobody. With an Idempotency-Key (verbinding_common.idempotency) the key is claimed first and its answer stored
    last, both in this transaction: a replay or a refusal is raised before the route runs."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    idempotency = getattr(request.state, "idempotency", None)
    async with sessionmaker() as session, session.begin():
        if idempotency is not None:
            await idempotency.claim(session)
        yield session
        if idempotency is not None:
            await idempotency.store(session)


# scope="function": commit before the response is sent, so a failed commit answers an error (503 when the database
# is unreachable), never 200.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]
