"""Intake's declarative base and its request session."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from verbinding_common.db import NAMING_CONVENTION

# The event source every intake event carries.
SOURCE = "intake"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
