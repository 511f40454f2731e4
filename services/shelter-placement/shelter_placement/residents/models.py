"""The resident table (as little as placement needs) and the resident schemas.

Vulnerability levels, served in this order on the waitlist (then by request time):
1 `acute`    — immediate danger to health or safety: a medical emergency, a victim of trafficking or violence,
               late pregnancy;
2 `high`     — a serious illness or disability, a household with minors, aged 70 or over;
3 `elevated` — a chronic condition or psychological distress that sleeping rough would worsen;
4 `standard` — none of the above.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID, uuid4

from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import CheckConstraint, DateTime, SmallInteger, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from verbinding_common.contracts.shelter import Programme

from ..database import Base
from ..shelters.models import Label


class Vulnerability(StrEnum):
    acute = "acute"
    high = "high"
    elevated = "elevated"
    standard = "standard"

    @property
    def priority(self) -> int:
        """1 is served first."""
        return list(Vulnerability).index(self) + 1


class Resident(Base):
    """Someone an operator NGO shelters, known by the pseudonym or reference the operator chose. No name, no
    immigration file number, no link to intake's persons."""

    __tablename__ = "resident"
    __table_args__ = (
        UniqueConstraint("operator", "pseudonym", name="uq_resident_operator_pseudonym"),
        CheckConstraint("year_of_birth BETWEEN 1900 AND 2100", name="year_of_birth_plausible"),
        CheckConstraint("vulnerability IN ('acute', 'high', 'elevated', 'standard')", name="vulnerability_known"),
        CheckConstraint("programme IN ('lvv', 'dublin', 'emergency')", name="programme_known"),
    )

    id: Mapped[UUID] = mapped_column(primary_key=True, default=uuid4)
    operator: Mapped[str] = mapped_column(String(128))
    programme: Mapped[str] = mapped_column(String(16))
    pseudonym: Mapped[str] = mapped_column(String(64))
    year_of_birth: Mapped[int] = mapped_column(SmallInteger)
    languages: Mapped[list[str]] = mapped_column(ARRAY(String(35)), server_default=text("'{}'"))
    vulnerability: Mapped[str] = mapped_column(String(16))
    registered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


Language = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=2, max_length=35,
                                            pattern=r"^[a-z-]+$")]


class ResidentCreate(BaseModel):
    """Unknown fields are refused: no immigration file number, no name can slip in."""

    model_config = ConfigDict(extra="forbid")

    pseudonym: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                                pattern=r"^[^\x00-\x1f\x7f]+$")] = Field(
        description="a pseudonym or reference the operator chooses: never a name or an immigration file number")
    programme: Programme
    operator: Label | None = Field(default=None, description="the operator NGO (a coordinator must name it; an NGO "
                                                             "partner registers for its own organisation)")
    year_of_birth: int = Field(ge=1900, le=2100)
    languages: list[Language] = Field(default_factory=list, max_length=10)
    vulnerability: Vulnerability


class ResidentRead(BaseModel):
    resident_id: UUID
    pseudonym: str
    operator: str
    programme: Programme
    year_of_birth: int
    languages: list[str]
    vulnerability: Vulnerability

    @classmethod
    def of(cls, resident: Resident) -> ResidentRead:
        return cls(resident_id=resident.id, pseudonym=resident.pseudonym, operator=resident.operator,
                   programme=Programme(resident.programme), year_of_birth=resident.year_of_birth,
                   languages=list(resident.languages), vulnerability=Vulnerability(resident.vulnerability))
