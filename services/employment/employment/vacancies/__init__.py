"""Employers, their vacancies, and matching vacancies to a job seeker by fit."""
