"""The request's access audit, for routes that read job seekers (verbinding_common.audit)."""

from typing import Annotated

from fastapi import Depends

from verbinding_common.audit import AccessAudit, access_audit

from .audit.models import AccessAuditTable

AuditDep = Annotated[AccessAudit, Depends(access_audit(AccessAuditTable))]
