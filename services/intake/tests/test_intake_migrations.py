"""The hand-reviewed Alembic migrations build exactly the schema intake's models declare, and the status projection
starts from the persons and case holders intake already knew."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config

from verbinding_testing.fixtures import create_database, drop_database, schema_drift

ALEMBIC_INI = Path(__file__).resolve().parents[1] / "alembic.ini"


async def test_migrations_match_the_models(intake) -> None:
    assert await schema_drift(intake.settings.database_url, "intake") == []


async def _upgrade(database_url: str, revision: str) -> None:
    def upgrade() -> None:
        previous = os.environ.get("VERBINDING_DATABASE_URL")
        os.environ["VERBINDING_DATABASE_URL"] = database_url
        try:
            command.upgrade(Config(str(ALEMBIC_INI)), revision)
        finally:
            if previous is None:
                os.environ.pop("VERBINDING_DATABASE_URL", None)
            else:
                os.environ["VERBINDING_DATABASE_URL"] = previous

    await asyncio.to_thread(upgrade)


async def test_the_status_projection_starts_from_the_persons_and_case_holders_intake_knew(
        postgres_server_url: str) -> None:
    name = f"t_intake_{uuid.uuid4().hex[:10]}"
    database_url = await create_database(postgres_server_url, name)
    try:
        await _upgrade(database_url, "0003")
        household = uuid.uuid4()
        persons = {number: uuid.uuid4() for number in ("V-MIG-1", "V-MIG-2", "V-MIG-3")}
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            await conn.execute("INSERT INTO household (id) VALUES ($1)", household)
            for number, person_id in persons.items():
                await conn.execute(
                    "INSERT INTO person (id, coa_registration_number, family_name, given_names, date_of_birth, "
                    "gender, country_of_origin, languages, reception_centre, recognised_on, household_id, "
                    "family_reunification, status) VALUES ($1, $2, 'H', 'L', '1990-01-01', 'x', 'SY', '{}', 'AZC', "
                    "'2025-01-01', $3, false, 'in_intake')", person_id, number, household)
            await conn.execute("INSERT INTO case_holder (case_id, person_id, case_manager_id, status) VALUES "
                               "($1, $2, $3, 'assigned'), ($4, $5, $3, 'closed')", uuid.uuid4(),
                               persons["V-MIG-2"], uuid.uuid4(), uuid.uuid4(), persons["V-MIG-3"])
        finally:
            await conn.close()
        await _upgrade(database_url, "head")
        conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await conn.fetch("SELECT coa_registration_number, status, stage, person_id, case_id IS NOT NULL "
                                    "AS has_case FROM recognition_progress ORDER BY 1")
        finally:
            await conn.close()
    finally:
        await drop_database(postgres_server_url, name)
    assert [tuple(row) for row in rows] == [
        ("V-MIG-1", "person_registered", 1, persons["V-MIG-1"], False),
        ("V-MIG-2", "case_manager_assigned", 3, persons["V-MIG-2"], True),
        ("V-MIG-3", "case_closed", 4, persons["V-MIG-3"], True),
    ]
