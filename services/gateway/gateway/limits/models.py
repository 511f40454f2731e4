"""The buckets of the limits every gateway replica shares (token failures, anonymous reports): see
verbinding_common.limits."""

from verbinding_common.limits import rate_limit_table

from ..database import Base

rate_limit_bucket = rate_limit_table(Base.metadata)
