"""The buckets of the limits every safe-reporting replica shares (the receipt-guess budget): see
verbinding_common.limits."""

from verbinding_common.limits import rate_limit_table

from ..database import Base

rate_limit_bucket = rate_limit_table(Base.metadata)
