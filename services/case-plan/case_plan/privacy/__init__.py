"""Personal data in case-plan: what it holds and why, how long, and its erasure (with intake's or by its own rule)."""
