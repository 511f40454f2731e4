"""Shared pytest fixtures for the whole repository (see verbinding_testing.fixtures)."""

pytest_plugins = ["verbinding_testing.fixtures", "verbinding_testing.scheduling"]
