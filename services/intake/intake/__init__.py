"""Intake: newcomers the COA recognised as refugees, their households, intake interviews and consent."""
