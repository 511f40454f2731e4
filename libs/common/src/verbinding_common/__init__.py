"""Shared plumbing for Verbinding services, written once."""
