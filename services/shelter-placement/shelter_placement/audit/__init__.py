"""The access audit: who read or was refused which resident or placement, when."""
