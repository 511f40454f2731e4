"""Infrastructure the repository starts by itself: embedded PostgreSQL and the Tansu broker."""
