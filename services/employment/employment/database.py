"""The declarative base of employment's tables (the backbone's tables live in verbinding_common.db)."""

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

from verbinding_common.db import NAMING_CONVENTION


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
