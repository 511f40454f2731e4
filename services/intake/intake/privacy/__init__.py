"""Personal data in intake: what it holds and why, how long, and its erasure when the time is up."""
