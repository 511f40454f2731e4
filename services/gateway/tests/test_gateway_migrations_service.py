"""The gateway's hand-written migrations build exactly the tables its models and the backbone declare."""

from __future__ import annotations

from verbinding_testing.fixtures import schema_drift


async def test_migrated_database_matches_the_models_and_backbone_tables(gateway_database_url: str) -> None:
    assert await schema_drift(gateway_database_url, "gateway") == []
