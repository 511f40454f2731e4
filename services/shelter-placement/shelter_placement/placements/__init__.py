"""Placements: taking a bed, the waitlist, the end of a stay and its warning, case-manager assignment."""
