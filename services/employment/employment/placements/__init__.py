"""Placements and their retention checks at 6, 12 and 24 months."""
