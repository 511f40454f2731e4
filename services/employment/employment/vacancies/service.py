"""Employers and their vacancies."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from verbinding_common.errors import RuleViolated

from .models import Employer, EmployerCreate, Vacancy, VacancyCreate


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


async def open_vacancies(*, session: AsyncSession, employer_id: UUID | None = None) -> Sequence[Vacancy]:
    """Vacancies with openings left, newest first."""
    query = select(Vacancy).where(Vacancy.openings > 0)
    if employer_id is not None:
        query = query.where(Vacancy.employer_id == employer_id)
    return (await session.scalars(query.order_by(Vacancy.created_at.desc(), Vacancy.id))).all()
