"""What case-plan keeps of employment.placements.v1: whether a person works, so the case can show it."""
