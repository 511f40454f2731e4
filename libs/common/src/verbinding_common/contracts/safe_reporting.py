"""Events safe-reporting publishes on `safe-reporting.statistics.v1`, keyed by ISO week: anonymous counts only."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import Field

from ..events import EventContract, contract

TOPIC = "safe-reporting.statistics.v1"


class CategoryDistrictCount(EventContract):
    category: str = Field(description="the report category; for monitoring by team leads and ops")
    district: str = Field(description="the city district; for monitoring by team leads and ops")
    reports: int | None = Field(ge=0, description="number of reports, or null when suppressed (under 5, or hidden "
                                                  "so that another hidden figure cannot be derived)")


class CategoryCount(EventContract):
    category: str = Field(description="the report category; for monitoring by team leads and ops")
    reports: int | None = Field(ge=0, description="total over districts, or null when suppressed")


class DistrictCount(EventContract):
    district: str = Field(description="the city district; for monitoring by team leads and ops")
    reports: int | None = Field(ge=0, description="total over categories, or null when suppressed")


@contract
class ReportStatisticsPublished(EventContract):
    """The number of reports received in one ISO week, per category and district, small counts suppressed.

    Nothing else ever leaves safe-reporting: no report, no reporter, no receipt.
    """

    event_type: ClassVar[str] = "safe-reporting.statistics-published.v1"
    topic: ClassVar[str] = TOPIC
    key_field: ClassVar[str] = "iso_week"

    iso_week: str = Field(pattern=r"^\d{4}-W\d{2}$", description="the ISO week the reports were received in")
    threshold: int = Field(ge=1, description="figures under this are never shown")
    cells: list[CategoryDistrictCount] = Field(description="every category x district of the week, for monitoring")
    category_totals: list[CategoryCount] = Field(description="per category, over all districts")
    district_totals: list[DistrictCount] = Field(description="per district, over all categories")
    total: int | None = Field(ge=0, description="all reports of the week, or null when suppressed")
    computed_at: datetime = Field(description="when the figures were computed")
