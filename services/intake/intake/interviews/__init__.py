"""The intake interview: education, work experience, languages, domains of need and consent."""
