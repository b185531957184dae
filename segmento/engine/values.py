"""Value types that rules use besides plain JSON scalars: durations and calendar periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Final, Literal

DurationUnit = Literal["minutes", "hours", "days", "weeks"]
DURATION_UNITS: Final[tuple[DurationUnit, ...]] = ("minutes", "hours", "days", "weeks")

PeriodName = Literal["today", "yesterday", "this_week", "last_week", "this_month", "last_month", "this_year"]
PERIOD_NAMES: Final[tuple[PeriodName, ...]] = (
    "today",
    "yesterday",
    "this_week",
    "last_week",
    "this_month",
    "last_month",
    "this_year",
)


@dataclass(frozen=True, slots=True)
class Duration:
    """A length of time in one unit, as rules write it: ``7 days``, ``2 hours``."""

    amount: int
    unit: DurationUnit

    def to_timedelta(self) -> timedelta:
        return timedelta(**{self.unit: self.amount})

    def __str__(self) -> str:
        unit = self.unit if self.amount != 1 else self.unit[:-1]
        return f"{self.amount} {unit}"


@dataclass(frozen=True, slots=True)
class CalendarPeriod:
    """A named local calendar period relative to ``as_of``: today, this month, ...

    Weeks start on Monday (ISO 8601).
    """

    name: PeriodName

    def __str__(self) -> str:
        return self.name.replace("_", " ")
