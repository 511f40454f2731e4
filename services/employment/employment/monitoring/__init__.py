"""Labour-market participation and sustainable-work figures for team leads and ops."""
