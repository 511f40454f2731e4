"""How long a stay may last: the programme's maximum, fixed when the placement starts, and its warning date.

Month ends: a stay of N months ends on the same day of the month N months later, or on that month's last day
when it has no such day (placed on 31 August, a 6-month Dublin stay ends on 28 February, or 29 in a leap year).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from verbinding_common.contracts.shelter import Programme

# The maximum stay in months of the programmes that fix one: LVV 18 months, Dublin 6 months.
MAX_STAY_MONTHS = {Programme.lvv: 18, Programme.dublin: 6}


@dataclass(frozen=True)
class StayRules:
    """The settings a stay depends on: the emergency places' maximum stay, and the warning's lead time."""

    emergency_days: int = 30
    warning_lead_days: int = 28


def add_months(start: date, months: int) -> date:
    """The same day `months` later, or the last day of that month when it is shorter."""
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


def stay_end(*, programme: Programme, started_on: date, rules: StayRules) -> date:
    """The last day of a stay that starts on `started_on`."""
    if programme in MAX_STAY_MONTHS:
        return add_months(started_on, MAX_STAY_MONTHS[programme])
    return started_on + timedelta(days=rules.emergency_days)


def warning_due(*, ends_on: date, started_on: date, rules: StayRules) -> date:
    """When the warning comes due: the lead time before the end, but never before the stay starts."""
    return max(started_on, ends_on - timedelta(days=rules.warning_lead_days))
