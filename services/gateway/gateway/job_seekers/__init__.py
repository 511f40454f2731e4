"""A job hunter's job seekers with their working names: employment's codes and intake's first given name, composed."""
