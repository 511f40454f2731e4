"""Working names: the first given name of a person, shown to the job hunter who serves them and to nobody else."""
