"""Alembic environment of shelter-placement: its own tables plus the backbone's (outbox, processed_event)."""

import shelter_placement.audit.models
import shelter_placement.placements.models
import shelter_placement.residents.models
import shelter_placement.shelters.models  # noqa: F401  (each models module registers its tables on Base.metadata)
from shelter_placement.database import Base

from verbinding_common.migrations import run_migrations

run_migrations(Base.metadata)
