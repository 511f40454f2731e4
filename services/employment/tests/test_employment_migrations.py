"""The hand-reviewed Alembic migration builds exactly the schema the models declare."""

from __future__ import annotations

import employment.audit.models
import employment.job_seekers.models
import employment.placements.models
import employment.vacancies.models  # noqa: F401
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from employment.database import Base

from verbinding_common.db import backbone_metadata, create_engine


async def test_migrations_match_the_models(employment_database: str) -> None:
    engine = create_engine(employment_database)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(lambda sync: compare_metadata(
                MigrationContext.configure(sync, opts={"compare_type": True}), [Base.metadata, backbone_metadata]))
    finally:
        await engine.dispose()
    assert differences == []
