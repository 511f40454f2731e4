"""Programmes, shelters, residents and placements: forwarded to shelter-placement as the caller."""
