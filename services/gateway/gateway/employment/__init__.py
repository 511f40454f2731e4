"""Job hunters' routes and the participation report, forwarded to employment."""
