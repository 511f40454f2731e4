"""The COA delivery receipt (the gateway's own table) and the COA API's request and response schemas."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.coa import StatusRecognised
from verbinding_common.contracts.intake import RejectionReason
from verbinding_common.privacy import RecordKind, declare_personal_data

from ..database import Base

MAX_BATCH = 1000


class CoaReceipt(Base):
    """One COA registration number the gateway took in: when first and last, how often, and the event it became."""

    __tablename__ = "coa_receipt"

    coa_registration_number: Mapped[str] = mapped_column(String(20), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64))
    first_received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    deliveries: Mapped[int] = mapped_column(Integer, server_default="1")


class RecognitionBatch(BaseModel):
    """Up to 1000 recognitions in one request; all are validated before any is sent."""

    model_config = ConfigDict(extra="forbid")

    recognitions: list[StatusRecognised] = Field(min_length=1, max_length=MAX_BATCH)


class RecognitionAccepted(BaseModel):
    coa_registration_number: str
    event_id: str = Field(description="the same for a resend of the same recognition")
    status_url: str


class RecognitionsAccepted(BaseModel):
    accepted: int
    recognitions: list[RecognitionAccepted]


class CaseSummary(BaseModel):
    case_id: str


RecognitionProgress = Literal["received", "rejected", "person_registered", "waitlisted", "case_manager_assigned",
                              "case_closed"]


class RecognitionStatus(BaseModel):
    coa_registration_number: str
    status: RecognitionProgress
    received_at: datetime | None = Field(description="when the gateway first took the recognition in (or, when it "
                                                     "came straight to Kafka, when intake took it in or rejected it)")
    person_id: str | None = None
    reason: RejectionReason | None = Field(
        default=None, description="why, when the status is rejected: a code, never the values; the COA corrects "
                                  "the recognition and sends it again")
    case: CaseSummary | None = Field(default=None, description="the person's case, once waitlisted or assigned")
    unavailable: list[str] = Field(default_factory=list,
                                   description="services that did not answer: the status may be further along")


def request_body_schema() -> dict[str, Any]:
    """One recognition, or a batch of them: the body the COA push takes (documented, validated by hand)."""
    single = StatusRecognised.model_json_schema()
    batch = {"title": "RecognitionBatch", "type": "object", "additionalProperties": False,
             "required": ["recognitions"],
             "properties": {"recognitions": {"type": "array", "items": single, "minItems": 1,
                                             "maxItems": MAX_BATCH}}}
    return {"oneOf": [single, batch]}


# The register of processing (`make register`): a receipt names a person by their COA number.
PERSONAL_DATA = declare_personal_data(
    Base, service="gateway", subject_tables=("coa_receipt",),
    kinds=[RecordKind(name="COA delivery receipt", tables=("coa_receipt",),
                      legal_ground="GDPR Art. 6(1)(e): the municipality's public task (taking the COA's "
                                   "recognitions in exactly once, and answering the COA's look-ups)",
                      retention="`VERBINDING_COA_RECEIPT_RETENTION_DAYS` (30) days after the last delivery",
                      retention_setting="coa_receipt_retention_days")],
    purposes={"coa_receipt": {
        "coa_registration_number": "takes each recognition in once; the COA looks its status up by it",
        "event_id": "the event the recognition became: the same for a resend",
        "first_received_at": "when the COA first sent it",
        "last_received_at": "when it was last sent: the retention runs from it",
        "deliveries": "how often the COA sent it",
    }},
)
