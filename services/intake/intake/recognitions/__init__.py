"""How far each COA recognition got, kept from the events that move it (the COA's status lookup reads it)."""
