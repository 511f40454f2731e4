"""Shared pytest fixtures for the whole repository (see verbinding_common.testing)."""

pytest_plugins = ["verbinding_common.testing"]
