"""The gateway's tables for capacity delivery: the capacity log, webhook endpoints and every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID, uuid4

from sqlalchemy import BigInteger, DateTime, ForeignKey, Identity, Integer, String, UniqueConstraint, Uuid, func, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class CapacityChange(Base):
    """One capacity event as the gateway took it in. `position` orders the whole log (SSE event ids, webhook
    cursors); positions are drawn under one lock held to commit, so they become visible in order."""

    __tablename__ = "capacity_change"
    __table_args__ = (UniqueConstraint("shelter_id", "sequence", name="uq_capacity_change_shelter_sequence"),)

    position: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    shelter_id: Mapped[UUID] = mapped_column(index=True)
    sequence: Mapped[int] = mapped_column(BigInteger)
    programme: Mapped[str] = mapped_column(String(16))
    operator: Mapped[str] = mapped_column(String(128))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    traceparent: Mapped[str | None] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class EndpointStatus(StrEnum):
    active = "active"
    paused = "paused"
    disabled = "disabled"


class WebhookEndpoint(Base):
    """An NGO system's webhook: what it wants (programmes, shelters), how far it got (`cursor`, a log position),
    and when to try again. Deliveries are rows (the log and this cursor), so a restart loses nothing."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    organisation: Mapped[str] = mapped_column(String(128), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(200))
    programmes: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default=text("'{}'"))
    shelter_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid()), server_default=text("'{}'"))
    secret: Mapped[str] = mapped_column(String(128))
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    cursor: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookAttempt(Base):
    """One delivery attempt: which change, when, the answer's status (or the error) and how long it took."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    delivered: Mapped[bool]
