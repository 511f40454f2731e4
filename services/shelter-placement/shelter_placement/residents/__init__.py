"""Residents: only what placement needs (an operator-chosen pseudonym, year of birth, languages, vulnerability)."""
