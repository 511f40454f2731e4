"""What kind of failure an error is (a broken world, or a broken message), described without payload values."""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path

import asyncpg
from aiokafka.errors import KafkaError, KafkaTimeoutError
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

# SQLSTATEs the same statement may not raise again: connection exceptions (class 08), insufficient resources
# (class 53: too many connections, disk full), administrator/crash shutdown and "cannot connect now" (57P01-03);
# and contention: serialization failure, deadlock, lock not available, a statement cancelled by its timeout (a
# request's statements are bounded: see db.get_session).
_OUTAGE_SQLSTATES = frozenset({"57P01", "57P02", "57P03"})
_OUTAGE_SQLSTATE_CLASSES = frozenset({"08", "53"})
_CONTENTION_SQLSTATES = frozenset({"40001", "40P01", "55P03", "57014"})
# Class 22 (data exception): the value itself cannot be stored (a NUL in text, an integer out of range).
_PERMANENT_SQLSTATE_CLASSES = frozenset({"22"})


_LIBRARY = Path(__file__).resolve().parent
# OSErrors of the file system are bugs or configuration, not an outage of a neighbour.
_LOCAL_OS_ERRORS = (FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError, PermissionError)


class PoisonMessage(Exception):
    """The message can never be applied (it breaks its contract or a rule): dead-letter it at once.

    Its text travels into dead-letter headers and logs: name fields, never their values.
    """


class ContractViolation(PoisonMessage):
    """A record that does not parse as an envelope, or whose data breaks its registered contract."""


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The error, what it wraps (SQLAlchemy's `orig`), what caused it, and the members of exception groups."""
    seen: set[int] = set()
    todo = [exc]
    while todo:
        current = todo.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            todo.extend(current.exceptions)
        todo.extend(e for e in (getattr(current, "orig", None), current.__cause__, current.__context__)
                    if isinstance(e, BaseException))


def sqlstate_of(exc: BaseException) -> str | None:
    """The PostgreSQL SQLSTATE behind an error, if any."""
    for error in _chain(exc):
        code = getattr(error, "sqlstate", None)
        if isinstance(code, str) and code:
            return code
    return None


def outage_of(exc: BaseException) -> str | None:
    """'database' or 'broker' when the error is the world's, 'contention' when concurrent transactions got in each
    other's way (either way: retry the same work later, for as long as it takes), else None."""
    sqlstate = sqlstate_of(exc)
    if sqlstate in _CONTENTION_SQLSTATES:
        return "contention"
    if sqlstate is not None and (sqlstate in _OUTAGE_SQLSTATES or sqlstate[:2] in _OUTAGE_SQLSTATE_CLASSES):
        return "database"
    errors = list(_chain(exc))
    if any(isinstance(error, asyncpg.DataError) for error in errors):
        return None  # asyncpg refused a value before sending it: the same value fails again
    for error in errors:
        if isinstance(error, KafkaError):
            if error.retriable or isinstance(error, KafkaTimeoutError):
                return "broker"
            continue
        if isinstance(error, PoolTimeout):  # every pooled connection is busy, or the database does not answer
            return "database"
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return "database"
        if isinstance(error, asyncpg.InterfaceError | asyncpg.PostgresConnectionError
                      | asyncpg.CannotConnectNowError | asyncpg.ConnectionDoesNotExistError):
            return "database"
        if isinstance(error, OSError) and not isinstance(error, _LOCAL_OS_ERRORS):
            return "database"
    return None


def is_permanent(exc: BaseException) -> bool:
    """True when the same message would raise it again, whatever is retried: dead-letter it at once."""
    if isinstance(exc, PoisonMessage | ValidationError):
        return True
    if any(isinstance(error, asyncpg.DataError) for error in _chain(exc)):
        return True
    sqlstate = sqlstate_of(exc)
    return sqlstate is not None and sqlstate[:2] in _PERMANENT_SQLSTATE_CLASSES


def validation_problems(exc: ValidationError) -> str:
    """Which fields broke which rule: locations and error types only, never the input."""
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or '<data>'}: {e['type']}"
                     for e in exc.errors(include_input=False, include_url=False))


def safe_description(exc: BaseException) -> str:
    """A description of the error fit for logs and headers: its type, SQLSTATE and where it was raised.

    Database errors and arbitrary exceptions can carry the statement's parameters or a handler's values in
    their text, so that text is never used; only our own PoisonMessage texts (which name fields) pass through.
    """
    name = type(exc).__name__
    if isinstance(exc, PoisonMessage):
        return f"{name}: {exc}"[:1000]
    if isinstance(exc, ValidationError):
        return f"{name}: {validation_problems(exc)}"[:1000]
    parts = [name]
    if (sqlstate := sqlstate_of(exc)) is not None:
        parts.append(f"SQLSTATE {sqlstate}")
    frames = traceback.extract_tb(exc.__traceback__)
    # The deepest frame of the service's own code says more than one inside a driver or this library.
    own = [f for f in frames if "site-packages" not in f.filename and _LIBRARY not in Path(f.filename).parents]
    if frames:
        last = (own or frames)[-1]
        parts.append(f"raised at {Path(last.filename).name}:{last.lineno} in {last.name}")
    return " ".join(parts)
