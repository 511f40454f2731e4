"""Reports, their messages, referral consents and referrals (contents sealed), and the anonymous weekly tally."""

from __future__ import annotations

import enum
import uuid
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Uuid,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..database import Base

# Times are stored at the day's grain (00:00 UTC): see sealed.py.
_TODAY = text("date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'")

class Category(enum.StrEnum):
    violence = "violence"
    sexual_violence = "sexual_violence"
    domestic_violence = "domestic_violence"
    labour_exploitation = "labour_exploitation"
    human_trafficking = "human_trafficking"
    theft_or_robbery = "theft_or_robbery"
    discrimination = "discrimination"
    other = "other"


class District(enum.StrEnum):
    """Amsterdam's city districts (stadsdelen), never an address."""

    centrum = "centrum"
    nieuw_west = "nieuw_west"
    noord = "noord"
    oost = "oost"
    west = "west"
    zuid = "zuid"
    zuidoost = "zuidoost"
    weesp = "weesp"
    elsewhere = "elsewhere"
    unknown = "unknown"


class ReportState(enum.StrEnum):
    new = "new"
    in_progress = "in_progress"
    referred = "referred"
    closed = "closed"


class ReferralKind(enum.StrEnum):
    police = "police"
    legal_counselling = "legal_counselling"
    victim_support = "victim_support"


class ReferralField(enum.StrEnum):
    """What a reporter may agree to pass on in a referral."""

    category = "category"
    district = "district"
    approximate_time = "approximate_time"
    description = "description"
    contact = "contact"
    answer_language = "answer_language"


class Report(Base):
    __tablename__ = "report"
    __table_args__ = (
        CheckConstraint("state IN ('new', 'in_progress', 'referred', 'closed')", name="state_known"),
        Index("ix_report_state_closed_at", "state", "closed_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    reporter_role: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    district: Mapped[str] = mapped_column(String(32))
    occurred_on: Mapped[date] = mapped_column(Date)
    part_of_day: Mapped[str | None] = mapped_column(String(16))
    answer_language: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(16), default=ReportState.new)
    iso_week: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_TODAY)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Envelope encryption: the report's data key wrapped by the service's key `kek_id`.
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    kek_id: Mapped[str] = mapped_column(String(32))
    description_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    contact_sealed: Mapped[bytes | None] = mapped_column(LargeBinary)
    receipt_lookup: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    receipt_verifier: Mapped[bytes] = mapped_column(LargeBinary)


class ReportMessage(Base):
    __tablename__ = "report_message"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # reporter | counsellor
    body_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_TODAY)


class ReferralConsent(Base):
    __tablename__ = "referral_consent"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(ARRAY(String(32)))
    given_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_TODAY)
    withdrawn_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Referral(Base):
    __tablename__ = "referral"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("report.id", ondelete="CASCADE"), index=True)
    consent_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("referral_consent.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    made_by: Mapped[str] = mapped_column(String(128))
    made_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=_TODAY)
    package_sealed: Mapped[bytes] = mapped_column(LargeBinary)


class ReportTally(Base):
    """One count per category x district x ISO week: what statistics are made of, kept after a purge."""

    __tablename__ = "report_tally"

    iso_week: Mapped[str] = mapped_column(String(8), primary_key=True)
    category: Mapped[str] = mapped_column(String(32), primary_key=True)
    district: Mapped[str] = mapped_column(String(32), primary_key=True)
    reports: Mapped[int] = mapped_column(BigInteger, default=0)


# --- request and response bodies ---------------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(min_length=1, max_length=8000, strip_whitespace=True)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}$")]


class ReportCreate(BaseModel):
    """A report, as a victim or a witness sends it: no account, no identity, no immigration status."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["victim", "witness"]
    category: Category
    district: District = Field(description="the city district where it happened; never an address")
    occurred_on: date = Field(description="roughly when it happened (a day)")
    part_of_day: Literal["morning", "afternoon", "evening", "night"] | None = None
    description: Text
    answer_language: Language = Field(description="the language to answer in (ISO 639 code, e.g. `nl`, `ar`)")
    contact: Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)] | None = Field(
        default=None, description="only if the reporter wants to be contacted: given voluntarily")


class ReportReceipt(BaseModel):
    receipt: str = Field(description="shown once: the only way to follow the report up. Write it down.")
    receipt_entropy_bits: float
    state: ReportState


class ReceiptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    receipt: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class ReporterMessageCreate(ReceiptBody):
    text: Text


class ConsentGive(ReceiptBody):
    kind: ReferralKind
    fields: list[ReferralField] = Field(min_length=1, max_length=len(ReferralField))


class ConsentWithdraw(ReceiptBody):
    kind: ReferralKind


class MessageRead(BaseModel):
    author: Literal["reporter", "counsellor"]
    text: str
    at: datetime


class ConsentRead(BaseModel):
    kind: ReferralKind
    fields: list[ReferralField]
    given_at: datetime
    withdrawn_at: datetime | None
    used_at: datetime | None


class ReportFollowUp(BaseModel):
    """What the reporter sees with their receipt."""

    state: ReportState
    category: Category
    messages: list[MessageRead]
    consents: list[ConsentRead]


class ReportSummary(BaseModel):
    """A report as the hub's list shows it: metadata only."""

    id: uuid.UUID
    reporter_role: str
    category: Category
    district: District
    iso_week: str
    state: ReportState
    answer_language: str
    has_contact: bool
    received_on: date


class ReportRead(ReportSummary):
    occurred_on: date
    part_of_day: str | None
    description: str
    contact: str | None
    messages: list[MessageRead]
    consents: list[ConsentRead]


class CounsellorMessageCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text


class StateChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    state: ReportState


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ReferralKind


class ReferralRead(BaseModel):
    id: uuid.UUID
    kind: ReferralKind
    made_at: datetime
    package: dict[str, str | None] = Field(description="exactly the fields the reporter agreed to pass on")
