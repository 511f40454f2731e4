"""Every intake table, in one metadata (what Alembic migrates)."""

from .audit.models import AccessAuditTable
from .database import Base
from .holders.models import CaseHolder, KnownCaseManager
from .households.models import Household
from .interviews.models import Consent, Interview
from .persons.models import Person

metadata = Base.metadata

__all__ = ["AccessAuditTable", "CaseHolder", "Consent", "Household", "Interview", "KnownCaseManager", "Person",
           "metadata"]
