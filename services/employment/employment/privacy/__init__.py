"""Personal data in employment: what it holds and why, how long, and its erasure (with intake's or by its own rule)."""
