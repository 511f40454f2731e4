"""Cases: opened for every registered newcomer, assigned to a case manager or waitlisted, closed."""
