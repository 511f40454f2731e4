"""Local development tooling: the embedded PostgreSQL and broker, the stack runner, its CLI and the trace viewer."""
