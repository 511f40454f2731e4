"""The access_audit table of this service (the library's definition, on this service's metadata)."""

from verbinding_common.audit import access_audit_table

from ..database import Base

AccessAuditTable = access_audit_table(Base.metadata)
