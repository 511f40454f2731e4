"""The gateway's hand-written migration builds exactly the tables its models and the backbone declare."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from gateway.coa.models import Base
from sqlalchemy import MetaData

from verbinding_common.db import backbone_metadata, create_engine


async def test_migrated_database_matches_the_models_and_backbone_tables(gateway_database_url: str) -> None:
    wanted = MetaData()
    for metadata in (Base.metadata, backbone_metadata):
        for table in metadata.tables.values():
            table.to_metadata(wanted)
    engine = create_engine(gateway_database_url)
    try:
        async with engine.connect() as conn:
            differences = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync, opts={"compare_type": True}), wanted))
    finally:
        await engine.dispose()
    assert [d for d in differences if not (isinstance(d, tuple) and d[0] == "remove_table"
                                           and d[1].name == "alembic_version")] == []
