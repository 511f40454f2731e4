"""The capacity hub: shelter capacity to NGO systems, as a log, signed webhooks and server-sent events."""
