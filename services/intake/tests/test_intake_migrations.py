"""The hand-reviewed Alembic migrations build exactly the schema intake's models declare."""

from verbinding_testing.fixtures import schema_drift


async def test_migrations_match_the_models(intake) -> None:
    assert await schema_drift(intake.settings.database_url, "intake") == []
