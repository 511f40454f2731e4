"""Distances between Amsterdam's districts, from their approximate centres (no external map service): enough to
prefer, between vacancies that fit equally well, the one nearer the job seeker."""

from __future__ import annotations

from math import asin, cos, radians, sin, sqrt

# Approximate centre of each district (latitude, longitude).
CENTRES: dict[str, tuple[float, float]] = {
    "centrum": (52.3731, 4.8932),
    "west": (52.3780, 4.8580),
    "nieuw_west": (52.3640, 4.8000),
    "zuid": (52.3450, 4.8700),
    "oost": (52.3600, 4.9400),
    "noord": (52.3950, 4.9250),
    "zuidoost": (52.3100, 4.9700),
    "westpoort": (52.4050, 4.8350),
    "weesp": (52.3070, 5.0420),
}


def distance_km(a: str | None, b: str | None) -> float | None:
    """As the crow flies between two districts' centres, to 0.1 km; None when either is unknown."""
    if a not in CENTRES or b not in CENTRES:
        return None
    (lat1, lon1), (lat2, lon2) = CENTRES[a], CENTRES[b]
    h = (sin(radians(lat2 - lat1) / 2) ** 2
         + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ** 2)
    return round(2 * 6371.0 * asin(sqrt(h)), 1)


def distances_from(district: str | None) -> dict[str, int]:
    """Hundreds of metres from `district` to every district (empty when it is unknown): for ordering in SQL."""
    return {other: round(km * 10) for other in CENTRES if (km := distance_km(district, other)) is not None}
