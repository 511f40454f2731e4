"""The participation report's schemas: figures per group, the city's aim and the 2020 reference beside them."""

from datetime import date

from pydantic import BaseModel, Field

MIN_CELL = 5


class Figures(BaseModel):
    """Counts of people in one group; a count under 5, a count that would give one away, and any share built on
    either, are null: suppressed."""

    people: int | None
    working: int | None = Field(description="holding a placement on the report date")
    participation: float | None = Field(description="working / people")
    sustainable: int | None = Field(description="in sustainable work within 3 years of recognition (see docs)")
    sustainable_share: float | None = Field(description="sustainable / people")
    suppressed: bool = Field(description="some figure of this group is hidden: fewer than 5 people in its cell, or "
                                         "hidden so that such a cell cannot be worked out from the totals")

    @classmethod
    def of(cls, people: int | None, working: int | None, sustainable: int | None) -> "Figures":
        """The group's figures from its counts as shown (None: hidden); a share built on a hidden count is hidden."""
        return cls(people=people, working=working, participation=_share(working, people), sustainable=sustainable,
                   sustainable_share=_share(sustainable, people),
                   suppressed=None in (people, working, sustainable))


class CohortFigures(Figures):
    cohort: int = Field(description="year of status recognition")


class GenderFigures(Figures):
    gender: str


class SectorFigures(BaseModel):
    sector: str
    working: int | None = Field(description="people whose main placement on the report date is in this sector")
    share_of_working: float | None
    suppressed: bool


class StageFigures(BaseModel):
    """Applications that reached a stage of the way forward by the report date, and the share of the stage before
    that went on to it."""

    stage: str
    reached: int | None = Field(description="applications that reached this stage; under 5 hidden")
    conversion: float | None = Field(description="reached / reached at the stage before (null for proposed)")


class Reference(BaseModel):
    aim_sustainable_within_3_years: float = 0.50
    participation_2020: float = 0.37
    participation_women_2020: float = 0.19
    hospitality_food_share_of_working_2020: float = 0.39


class ParticipationReport(BaseModel):
    as_of: date
    overall: Figures
    by_cohort: list[CohortFigures]
    by_gender: list[GenderFigures]
    by_sector: list[SectorFigures]
    applications: list[StageFigures] = Field(default_factory=list,
                                             description="conversion per stage: proposed, applied, interview, "
                                                         "offer, placed")
    reference: Reference = Field(default_factory=Reference)
    min_cell: int = MIN_CELL


def _share(part: int | None, whole: int | None) -> float | None:
    return None if part is None or not whole else round(part / whole, 4)
