"""Test support: pytest fixtures for real PostgreSQL and Kafka, and a running embedded stack for end-to-end tests."""
