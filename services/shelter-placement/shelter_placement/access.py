"""Who sees what: an NGO partner its own organisation's shelters and residents, a programme coordinator those of
the programme they coordinate (the identity's organisation claim names it: `lvv`, `dublin`, `emergency`).
Anything else answers like a record that does not exist."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, false

from verbinding_common.auth import Identity, Role
from verbinding_common.contracts.shelter import Programme

from .errors import Forbidden


@dataclass(frozen=True)
class Scope:
    """The shelters and residents a caller may see: of one operator NGO, or of one programme (or none)."""

    operator: str | None = None
    programme: Programme | None = None

    def covers(self, *, operator: str, programme: str) -> bool:
        if self.operator is not None:
            return operator == self.operator
        return self.programme is not None and programme == self.programme

    def where(self, operator: ColumnElement[str], programme: ColumnElement[str]) -> ColumnElement[bool]:
        """The same rule as a WHERE clause over a table's operator and programme columns."""
        if self.operator is not None:
            return operator == self.operator
        if self.programme is not None:
            return programme == self.programme.value
        return false()


def scope_of(identity: Identity) -> Scope:
    """The caller's scope: an NGO partner is bound to its organisation, a coordinator to its programme."""
    if Role.ngo_partner in identity.roles and identity.organisation:
        return Scope(operator=identity.organisation)
    if Role.programme_coordinator in identity.roles and identity.organisation in Programme.__members__:
        return Scope(programme=Programme(identity.organisation))
    return Scope()


def coordinated_programme(identity: Identity) -> Programme:
    """The programme a coordinator coordinates; Forbidden for anyone else."""
    scope = scope_of(identity)
    if scope.programme is None:
        raise Forbidden("only the programme's coordinator may do this")
    return scope.programme
