"""Capacity to NGO systems: the gateway's log of capacity changes, signed webhooks and server-sent events."""
