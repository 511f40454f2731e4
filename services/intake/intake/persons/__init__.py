"""Persons: newcomers with refugee status, registered once per COA registration number."""
