"""Verbinding gateway: the one door for every client (tokens, role allow-lists, the COA push, composed views)."""
