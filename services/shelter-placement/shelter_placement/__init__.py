"""Shelter-placement: programmes, shelters and their life cycle, residents, placements, the waitlist, stay warnings."""
