"""The declarative base of safe-reporting's tables (the backbone's tables live in verbinding_common.db)."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from verbinding_common.db import NAMING_CONVENTION

# The event source every safe-reporting event carries.
SOURCE = "safe-reporting"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
