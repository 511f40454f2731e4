"""Who holds which person's case, as case-plan announces it: what intake's access checks rest on."""
