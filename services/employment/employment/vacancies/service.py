"""Employers and their vacancies: adding, editing, closing, and the list paged by cursor with its filters."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID

from sqlalchemy import Select, and_, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.errors import Conflict, NotFound, RuleViolated

from .models import Employer, EmployerCreate, Vacancy, VacancyCreate, VacancyRead, VacancyStatus, VacancyUpdate

PAGE_SIZE, MAX_PAGE_SIZE = 50, 200


async def add_employer(*, session: AsyncSession, employer: EmployerCreate) -> Employer:
    """Add an employer job hunters work with."""
    row = Employer(name=employer.name, sector=employer.sector)
    session.add(row)
    await session.flush()
    return row


async def employers(*, session: AsyncSession) -> Sequence[Employer]:
    """Every employer, by name."""
    return (await session.scalars(select(Employer).order_by(Employer.name, Employer.id))).all()


async def add_vacancy(*, session: AsyncSession, vacancy: VacancyCreate) -> Vacancy:
    """Add an employer's vacancy."""
    if await session.get(Employer, vacancy.employer_id) is None:
        raise RuleViolated(f"no employer {vacancy.employer_id}")
    row = Vacancy(**vacancy.model_dump())
    session.add(row)
    await session.flush()
    return row


async def get_vacancy(*, session: AsyncSession, vacancy_id: UUID) -> Vacancy:
    """A vacancy, or NotFound."""
    vacancy = await session.get(Vacancy, vacancy_id)
    if vacancy is None:
        raise NotFound(f"no vacancy {vacancy_id}")
    return vacancy


async def update_vacancy(*, session: AsyncSession, vacancy_id: UUID, changes: VacancyUpdate) -> Vacancy:
    """Change the fields sent; a closed vacancy is not edited (409)."""
    vacancy = await get_vacancy(session=session, vacancy_id=vacancy_id)
    if vacancy.closed_on is not None:
        raise Conflict(f"vacancy {vacancy_id} is closed")
    for field, value in changes.model_dump(exclude_unset=True).items():
        if value is None and field not in ("duration_months", "district"):
            raise RuleViolated(f"{field} cannot be emptied")
        setattr(vacancy, field, value)
    await session.flush()
    return vacancy


async def close_vacancy(*, session: AsyncSession, vacancy_id: UUID, today: date) -> Vacancy:
    """Close a vacancy: it leaves matching and the open list; closing it again changes nothing."""
    vacancy = await get_vacancy(session=session, vacancy_id=vacancy_id)
    if vacancy.closed_on is None:
        vacancy.closed_on = today
        await session.flush()
    return vacancy


async def employer_name(*, session: AsyncSession, employer_id: UUID) -> str:
    """The employer's name."""
    return (await session.get_one(Employer, employer_id)).name


def is_open() -> object:
    """A vacancy matching ranks: not closed, an opening left."""
    return and_(Vacancy.closed_on.is_(None), Vacancy.openings > 0)


async def list_vacancies(*, session: AsyncSession, status: VacancyStatus = "open", q: str | None = None,
                         isco: str | None = None, education_level: int | None = None, dutch_level: str | None = None,
                         hours_min: int | None = None, hours_max: int | None = None, district: str | None = None,
                         location: str | None = None, employer_id: UUID | None = None, cursor: str | None = None,
                         limit: int = PAGE_SIZE) -> tuple[list[VacancyRead], str | None]:
    """A page of vacancies, newest first, filtered; and the cursor of the next page (None on the last)."""
    query: Select = select(Vacancy, Employer.name).join(Employer, Employer.id == Vacancy.employer_id)
    if status == "open":
        query = query.where(is_open())
    elif status == "closed":
        query = query.where(or_(Vacancy.closed_on.is_not(None), Vacancy.openings == 0))
    if q:
        query = query.where(Vacancy.title.ilike(f"%{_escape_like(q)}%", escape="\\"))
    if isco:
        query = query.where(Vacancy.occupation.startswith(isco))
    if education_level is not None:
        query = query.where(Vacancy.education_level == education_level)
    if dutch_level is not None:
        query = query.where(Vacancy.dutch_level == dutch_level)
    if hours_min is not None:
        query = query.where(Vacancy.hours_per_week >= hours_min)
    if hours_max is not None:
        query = query.where(Vacancy.hours_per_week <= hours_max)
    if district is not None:
        query = query.where(Vacancy.district == district)
    if location:
        query = query.where(Vacancy.location.ilike(f"%{_escape_like(location)}%", escape="\\"))
    if employer_id is not None:
        query = query.where(Vacancy.employer_id == employer_id)
    if cursor is not None:
        created_at, vacancy_id = _read_cursor(cursor)
        query = query.where(tuple_(Vacancy.created_at, Vacancy.id) < tuple_(created_at, vacancy_id))
    rows = (await session.execute(query.order_by(Vacancy.created_at.desc(), Vacancy.id.desc())
                                  .limit(limit + 1))).all()
    page = [VacancyRead.of(vacancy, name) for vacancy, name in rows[:limit]]
    last = rows[limit - 1].Vacancy if len(rows) > limit else None
    return page, (_write_cursor(last.created_at, last.id) if last is not None else None)


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _write_cursor(created_at: datetime, vacancy_id: UUID) -> str:
    return base64.urlsafe_b64encode(f"{created_at.isoformat()}|{vacancy_id}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str) -> tuple[datetime, UUID]:
    try:
        created_at, vacancy_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().split("|")
        return datetime.fromisoformat(created_at), UUID(vacancy_id)
    except (binascii.Error, UnicodeDecodeError, ValueError) as error:
        raise RuleViolated("cursor is not one this list gave") from error
