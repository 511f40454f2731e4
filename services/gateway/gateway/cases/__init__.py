"""Case-manager and team-lead views forwarded to case-plan with the caller's identity."""
