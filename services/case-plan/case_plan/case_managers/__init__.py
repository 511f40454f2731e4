"""Case managers and their capacity (at most 50 people at a time: docs/domain.md)."""
