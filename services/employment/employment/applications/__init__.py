"""Applications between a match and a placement: the pipeline per job seeker and per vacancy."""
