"""Every intake table, in one metadata (what Alembic migrates)."""

from .audit.models import ReadAudit
from .database import Base
from .households.models import Household
from .interviews.models import Consent, Interview
from .persons.models import Person

metadata = Base.metadata

__all__ = ["Consent", "Household", "Interview", "Person", "ReadAudit", "metadata"]
