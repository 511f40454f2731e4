"""The capacity log: one row per capacity change the hub took in from `shelter.capacity.v1`."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Identity, String, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class CapacityChange(Base):
    """One capacity event as the hub took it in. `position` orders the whole log (SSE event ids, webhook cursors);
    positions are drawn under one lock held to commit, so they become visible in order."""

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
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
