"""The read_audit table: one row per person record a user read."""

from datetime import datetime
from uuid import UUID

from sqlalchemy import BigInteger, DateTime, Identity, String, func
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base


class ReadAudit(Base):
    __tablename__ = "read_audit"

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=True), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255))
    roles: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    # No foreign key: the audit trail outlives the records it points at.
    person_id: Mapped[UUID] = mapped_column(index=True)
    route: Mapped[str] = mapped_column(String(255))
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
