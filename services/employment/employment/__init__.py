"""Employment: job hunters, job seekers learnt from events, vacancies, matching, placements, retention."""
