"""Case-plan: case managers and their caseloads, cases, the waitlist and versioned action plans."""
