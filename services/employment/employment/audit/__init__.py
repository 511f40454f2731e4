"""The access audit: who read or was refused which job seeker, when, and how it ended."""
