"""The hand-reviewed Alembic migrations build exactly the schema the models declare."""

from verbinding_testing.fixtures import schema_drift


async def test_migrations_match_the_models(service_database: str) -> None:
    assert await schema_drift(service_database, "capacity_hub") == []
