"""The access audit: who read or was refused which record, when, and how it ended."""
