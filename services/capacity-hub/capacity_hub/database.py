"""The declarative base of the capacity hub's tables (each concept's models.py); the backbone's are in
verbinding_common.db."""

from sqlalchemy.orm import DeclarativeBase

from verbinding_common.db import service_metadata


class Base(DeclarativeBase):
    metadata = service_metadata()
