"""Job seekers (learnt from intake and case-plan events) and the job hunters who coach them."""
