"""Person views composed from intake and case-plan, and intake's interview forwarded."""
