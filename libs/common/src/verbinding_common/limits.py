"""Limits every replica of a service shares: a sliding log of hits per bucket, kept in the service's own PostgreSQL.

One row per (limit, bucket key) holds the times of its most recent hits (never more than the limit: only the
newest `limit` hits decide whether the bucket is spent and when it frees again). Every change is one
`INSERT … ON CONFLICT DO UPDATE`: PostgreSQL locks the row and evaluates the update against its latest version, so
replicas hitting the same bucket at once are counted one after another, never past the limit. Each check is one
statement in its own autocommit transaction, never the request's, so a request that fails afterwards still counts,
and times are the database's clock, the same for every replica. A bucket key is whatever the caller makes it: a
client id, a keyed hash, a constant; never a network address.

A check costs about 0.3-0.6 ms on loopback and one bucket is one row lock, so a single hot bucket serialises its
replicas (about 2,600 hits/s on one bucket from two replicas, 2 cores); a row carries up to `limit` timestamps,
which suits limits up to a few thousand per window, not a million.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    bindparam,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from .db import asyncpg_url
from .jobs import Job, JobContext

log = logging.getLogger(__name__)
T = TypeVar("T")

TABLE = "rate_limit_bucket"
PURGE_EVERY_S = 300.0
PURGE_BATCH = 1000


def rate_limit_table(metadata: MetaData) -> Table:
    """The `rate_limit_bucket` table on a service's metadata: a service that keeps shared limits declares it once,
    in a models.py of its own, by calling this."""
    table = Table(
        TABLE,
        metadata,
        Column("limit_name", String(64), nullable=False),
        Column("bucket_key", String(128), nullable=False),
        Column("hits", ARRAY(DateTime(timezone=True)), nullable=False),
        Column("expires_at", DateTime(timezone=True), nullable=False),
        PrimaryKeyConstraint("limit_name", "bucket_key"),
    )
    Index(f"ix_{TABLE}_expires_at", table.c.expires_at)
    return table


def bucket_secret(key_material: str) -> bytes:
    """A key for hashing bucket keys, derived from a secret every replica already holds (the gateway: its identity
    signing key) and the database never sees: replicas hash alike, and the table alone cannot be matched against
    candidate names or addresses."""
    return hmac.new(key_material.encode(), b"verbinding rate-limit buckets", hashlib.sha256).digest()


def keyed(secret: bytes, *parts: str) -> str:
    """A bucket key that names no one: HMAC-SHA256 of `parts` under `secret`, hex."""
    return hmac.new(secret, "\0".join(parts).encode("utf-8", "replace"), hashlib.sha256).hexdigest()


def create_rate_limit_table_v1() -> None:
    """The table as of v1, for a service's migration (a frozen snapshot: a later change gets a step of its own)."""
    import sqlalchemy as sa
    from alembic import op
    from sqlalchemy.dialects import postgresql

    op.create_table(
        TABLE,
        sa.Column("limit_name", sa.String(64), nullable=False),
        sa.Column("bucket_key", sa.String(128), nullable=False),
        sa.Column("hits", postgresql.ARRAY(sa.DateTime(timezone=True)), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("limit_name", "bucket_key", name=f"pk_{TABLE}"),
    )
    op.create_index(f"ix_{TABLE}_expires_at", TABLE, ["expires_at"], unique=False)


def drop_rate_limit_table_v1() -> None:
    from alembic import op

    op.drop_index(f"ix_{TABLE}_expires_at", table_name=TABLE)
    op.drop_table(TABLE)


@dataclass(frozen=True)
class SlidingWindow:
    """At most `limit` hits per bucket in any `window_s` seconds."""

    name: str
    limit: int
    window_s: float


# The newest `limit` hits still inside the window, once `extra` is added: all a bucket needs to remember.
_KEPT = """ARRAY(SELECT hit FROM unnest({hits}) AS hit
                  WHERE hit > now() - make_interval(secs => :window_s)
                  ORDER BY hit DESC LIMIT :limit)"""

_WAIT = text(f"""
    SELECT max(EXTRACT(EPOCH FROM (spent_at + make_interval(secs => :window_s) - now())))
    FROM (SELECT (SELECT hit FROM unnest(hits) AS hit WHERE hit > now() - make_interval(secs => :window_s)
                  ORDER BY hit DESC OFFSET :limit - 1 LIMIT 1) AS spent_at
          FROM {TABLE} WHERE limit_name = :name AND bucket_key = ANY(:keys)) AS buckets
""").bindparams(bindparam("keys", type_=ARRAY(String)))

# A hit is taken only in a bucket that is not spent (`WHERE` on the update): a refused attempt adds nothing.
_HIT = text(f"""
    INSERT INTO {TABLE} AS bucket (limit_name, bucket_key, hits, expires_at)
    SELECT :name, key, ARRAY[now()], now() + make_interval(secs => :window_s) FROM unnest(:keys) AS key
    ON CONFLICT (limit_name, bucket_key) DO UPDATE
    SET hits = {_KEPT.format(hits="bucket.hits || now()")},
        expires_at = now() + make_interval(secs => :window_s)
    WHERE cardinality({_KEPT.format(hits="bucket.hits")}) < :limit
    RETURNING bucket.bucket_key
""").bindparams(bindparam("keys", type_=ARRAY(String)))

# Recorded whether or not the bucket is spent (a failure that happened counts); still only the newest kept.
_RECORD = text(f"""
    INSERT INTO {TABLE} AS bucket (limit_name, bucket_key, hits, expires_at)
    SELECT :name, key, ARRAY[now()], now() + make_interval(secs => :window_s) FROM unnest(:keys) AS key
    ON CONFLICT (limit_name, bucket_key) DO UPDATE
    SET hits = {_KEPT.format(hits="bucket.hits || now()")},
        expires_at = now() + make_interval(secs => :window_s)
""").bindparams(bindparam("keys", type_=ARRAY(String)))

# `expires_at` again outside the batch: a bucket hit again while the purge runs is rechecked on its new version
# and kept, not deleted with its fresh hit.
_PURGE = text(f"""
    DELETE FROM {TABLE} WHERE expires_at < now() AND (limit_name, bucket_key) IN (
        SELECT limit_name, bucket_key FROM {TABLE} WHERE expires_at < now() LIMIT :batch)
""")


class SharedLimits:
    """Sliding-window limits in the service's database, the same for every replica and across restarts.

    Each call is one statement on a connection of `engine` in autocommit (its own short transaction) and gives up
    after `timeout_s`; a database failure is raised: the caller decides whether its limit fails open or closed.
    """

    def __init__(self, *, engine: AsyncEngine, timeout_s: float = 2.0) -> None:
        self.engine = engine
        self.timeout_s = timeout_s

    @classmethod
    def on(cls, database_url: str, *, pool_size: int = 3, timeout_s: float = 2.0) -> SharedLimits:
        """Limits on a small pool of their own: a request that holds one of the app's connections and then counts
        a failure must never wait for a second one from the same pool (every request doing so would deadlock it).

        No ping on checkout, so a check is one round trip; a connection the server dropped fails one check (the
        pool then replaces it), which each limit answers as it answers any outage.
        """
        return cls(engine=create_async_engine(asyncpg_url(database_url), pool_size=pool_size, max_overflow=pool_size,
                                              pool_pre_ping=False, hide_parameters=True), timeout_s=timeout_s)

    async def _execute(self, statement, **params):
        async with asyncio.timeout(self.timeout_s):
            async with self.engine.connect() as conn:
                conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                result = await conn.execute(statement, params)
                return result.all() if result.returns_rows else []

    async def wait_s(self, window: SlidingWindow, *keys: str) -> int:
        """Seconds until every bucket of `keys` may take a hit again (at least 1 when one is spent); 0: now."""
        rows = await self._execute(_WAIT, name=window.name, keys=list(keys), limit=window.limit,
                                   window_s=window.window_s)
        wait = rows[0][0] if rows else None
        return 0 if wait is None else max(1, math.ceil(float(wait)))

    async def hit(self, window: SlidingWindow, *keys: str) -> set[str]:
        """Take one hit in each bucket of `keys` that is not spent; the keys that took it."""
        rows = await self._execute(_HIT, name=window.name, keys=list(keys), limit=window.limit,
                                   window_s=window.window_s)
        return {row[0] for row in rows}

    async def record(self, window: SlidingWindow, *keys: str) -> None:
        """Count one hit in each bucket of `keys`, spent or not."""
        await self._execute(_RECORD, name=window.name, keys=list(keys), limit=window.limit, window_s=window.window_s)

    async def aclose(self) -> None:
        """Close the limits' own pool (at shutdown, after the purge job stopped)."""
        await self.engine.dispose()

    async def purge_expired(self, *, batch: int = PURGE_BATCH) -> int:
        """Delete buckets whose every hit has left its window, `batch` rows per statement; how many went."""
        purged = 0
        while True:
            async with self.engine.begin() as conn:
                count = (await conn.execute(_PURGE, {"batch": batch})).rowcount or 0
            purged += count
            if count < batch:
                return purged


async def fail_open(check: Awaitable[T], answer: T, limit: str) -> T:
    """`check`'s result, or `answer` when the database cannot give one (logged by the error's type only): for a limit
    that must not turn a database outage into its callers' outage. While the database is away the limit is off."""
    try:
        return await check
    except Exception as exc:
        log.warning("%s unavailable (%s): going on without it", limit, type(exc).__name__)
        return answer


def shared_limits_purge(*, every_s: float = PURGE_EVERY_S) -> Job:
    """The job that deletes the expired buckets of the app's `state.shared_limits` every `every_s` seconds (every
    replica may run it: idempotent). The service closes the limits' pool itself (`contextlib.aclosing`)."""

    async def purge(context: JobContext) -> None:
        await context.state.shared_limits.purge_expired()

    return Job(name="shared-limits-purge", run=purge, interval_s=every_s)
