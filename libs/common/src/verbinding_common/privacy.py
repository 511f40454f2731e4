"""Personal data as the code declares it: the purpose of each personal column, the legal ground and retention of
each kind of record (the register of processing is generated from these), and the tombstones of erased persons."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from pydantic_core import to_jsonable_python
from sqlalchemy import Column, ColumnElement, DateTime, MetaData, Table, Uuid, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

# column.info["personal"]: why the service holds this value of a person (the purpose, in one line).
PERSONAL = "personal"


@dataclass(frozen=True)
class RecordKind:
    """One kind of record about a person: the tables it spans, why it may be held, and for how long."""

    name: str
    tables: tuple[str, ...]
    legal_ground: str
    retention: str  # in words, naming the setting that holds it
    retention_setting: str | None = None  # the VERBINDING_* setting (lower case field name), when there is one


@dataclass(frozen=True)
class PersonalData:
    """What one service holds about persons: its metadata (each personal column marked with its purpose) and its
    kinds of record. `subject_tables` are the tables whose rows are persons themselves (keyed by `id`); every table
    with a `person_id` column, or a foreign key to a table about a person, is about a person too."""

    service: str
    metadata: MetaData
    kinds: tuple[RecordKind, ...]
    subject_tables: tuple[str, ...] = ()
    not_about_persons: Mapping[str, str] = field(default_factory=dict)  # table -> why it is left out

    def tables_about_persons(self) -> list[Table]:
        """Tables whose rows are about a person (directly or through a foreign key), in dependency order."""
        about: set[str] = set(self.subject_tables)
        tables = [table for table in self.metadata.sorted_tables if table.name not in self.not_about_persons]
        changed = True
        while changed:
            changed = False
            for table in tables:
                if table.name in about:
                    continue
                if "person_id" in table.c or any(fk.column.table.name in about for fk in table.foreign_keys):
                    about.add(table.name)
                    changed = True
        return [table for table in tables if table.name in about]

    def unexplained_columns(self) -> list[str]:
        """`table.column` of every column about a person that has no purpose written down: each must say why."""
        return [f"{table.name}.{column.name}" for table in self.tables_about_persons() for column in table.columns
                if not column.info.get(PERSONAL)]

    def kind_of(self, table: str) -> RecordKind | None:
        return next((kind for kind in self.kinds if table in kind.tables), None)


_REGISTERED: dict[str, PersonalData] = {}


def declare_personal_data(base: type[DeclarativeBase], *, service: str, kinds: Iterable[RecordKind],
                          purposes: Mapping[str, Mapping[str, str]], subject_tables: Iterable[str] = (),
                          not_about_persons: Mapping[str, str] | None = None) -> PersonalData:
    """Mark each `purposes[table][column]` on the service's tables (column.info["personal"]) and register the
    service's personal data for the register of processing; a name that is not a table or column is an error."""
    metadata = base.metadata
    for table_name, columns in purposes.items():
        if table_name not in metadata.tables:
            raise KeyError(f"{service}: no table {table_name!r} to mark")
        table = metadata.tables[table_name]
        for column_name, purpose in columns.items():
            if column_name not in table.c:
                raise KeyError(f"{service}: no column {table_name}.{column_name} to mark")
            table.c[column_name].info[PERSONAL] = purpose
    declared = PersonalData(service=service, metadata=metadata, kinds=tuple(kinds),
                            subject_tables=tuple(subject_tables), not_about_persons=dict(not_about_persons or {}))
    for kind in declared.kinds:
        unknown = set(kind.tables) - set(metadata.tables)
        if unknown:
            raise KeyError(f"{service}: record kind {kind.name} names unknown tables {sorted(unknown)}")
    _REGISTERED[service] = declared
    return declared


def registered_personal_data() -> dict[str, PersonalData]:
    """Every service's declaration imported so far, by service name."""
    return dict(_REGISTERED)


def erased_person_table(metadata: MetaData) -> Table:
    """Persons erased here (ids only): a late or replayed event about one of them is erased again by the next
    sweep instead of bringing them back (its migration: create_erased_person_table_v1)."""
    table = Table(
        "erased_person", metadata,
        Column("person_id", Uuid, primary_key=True,
               info={PERSONAL: "the erased person's id, so that events arriving after the erasure are erased too"}),
        Column("erased_at", DateTime(timezone=True), nullable=False, server_default=func.now(),
               info={PERSONAL: "when the erasure was applied here (proof of erasure)"}),
    )
    return table


def create_erased_person_table_v1() -> None:
    """The erased_person table as of v1, for a service's migration (a frozen snapshot)."""
    import sqlalchemy as sa
    from alembic import op

    op.create_table(
        "erased_person",
        sa.Column("person_id", sa.Uuid(), nullable=False),
        sa.Column("erased_at", sa.DateTime(timezone=True), server_default=sa.func.now(), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_erased_person"),
    )


async def personal_records(session: AsyncSession, declared: PersonalData, person_id: UUID,
                           skip: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Everything `declared`'s service holds about one person (GDPR Art. 15), as JSON: per table about persons (but
    `skip`), its kind of record, legal ground and retention, and each row's every field with its value and purpose."""
    conditions: dict[str, ColumnElement[bool]] = {}

    def condition(table: Table) -> ColumnElement[bool] | None:
        if table.name in conditions:
            return conditions[table.name]
        found: ColumnElement[bool] | None = None
        if table.name in declared.subject_tables:
            found = table.c.id == person_id
        elif "person_id" in table.c:
            found = table.c.person_id == person_id
        else:
            for fk in table.foreign_keys:
                parent = condition(fk.column.table)
                if parent is not None:
                    found = fk.parent.in_(select(fk.column).where(parent))
                    break
        if found is not None:
            conditions[table.name] = found
        return found

    sections = []
    for table in declared.tables_about_persons():
        if table.name in set(skip):
            continue
        where = condition(table)
        if where is None:
            continue
        rows = (await session.execute(select(table).where(where))).mappings().all()
        if not rows:
            continue
        kind = declared.kind_of(table.name)
        sections.append({
            "service": declared.service, "table": table.name, "kind": kind.name if kind else None,
            "legal_ground": kind.legal_ground if kind else None, "retention": kind.retention if kind else None,
            "rows": [{column.name: {"value": to_jsonable_python(row[column.name]),
                                    "purpose": column.info.get(PERSONAL)} for column in table.columns}
                     for row in rows],
        })
    return sections
