"""Action plans: versioned objectives across domains, approved by the case manager or a team lead."""
