"""Webhook endpoints (their signing secrets sealed) and every delivery attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID, uuid4

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Integer,
    LargeBinary,
    String,
    Uuid,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class EndpointStatus(StrEnum):
    active = "active"
    paused = "paused"
    disabled = "disabled"


class WebhookEndpoint(Base):
    """An NGO system's webhook: what it wants (programmes, shelters), how far it got (`cursor`, a log position),
    and when to try again. Deliveries are rows (the log and this cursor), so a restart loses nothing.

    The signing secrets are sealed with a data key of the endpoint's own, itself wrapped by the hub's key
    (`kek_id` names which). `revision` grows with every change an NGO makes (pause, resume, replay, rotation):
    the process delivering to the endpoint reloads it then, and never writes a cursor over a replay."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    organisation: Mapped[str] = mapped_column(String(128), index=True)
    url: Mapped[str] = mapped_column(String(2048))
    description: Mapped[str | None] = mapped_column(String(200))
    programmes: Mapped[list[str]] = mapped_column(ARRAY(String(16)), server_default=text("'{}'"))
    shelter_ids: Mapped[list[UUID]] = mapped_column(ARRAY(Uuid()), server_default=text("'{}'"))
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(32))
    secret_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    previous_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    previous_secret_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16), server_default=text("'active'"))
    disabled_reason: Mapped[str | None] = mapped_column(String(300))
    cursor: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    failures: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revision: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    replays: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    lease_owner: Mapped[UUID | None] = mapped_column()
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class WebhookAttempt(Base):
    """One delivery attempt: which change, when, the answer's status (or the error) and how long it took."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    endpoint_id: Mapped[UUID] = mapped_column(ForeignKey("webhook_endpoint.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(BigInteger)
    message_id: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(String(300))
    delivered: Mapped[bool]
