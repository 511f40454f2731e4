"""Households: a person and the partner who joins them by family reunification."""
