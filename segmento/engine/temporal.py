"""Time semantics shared by every target: windows, calendar periods, ages, birthdays.

A segment is evaluated as of an instant (``as_of``) in the shop's time zone. Every
function here turns a rule's time expression into constants for that instant, so the
evaluator and the compilers compare against the same bounds:

- ``in last N units`` on an instant is the window ``(as_of − N, as_of]``; on a date it
  is the local dates ``(date(as_of − N), today]``, so ``in last 7 days`` is 7 days
  ending today.
- ``in next N units`` on an instant is ``(as_of, as_of + N]``; on a date it is
  ``[today, date(as_of + N)]``.
- Calendar periods are local calendar days; weeks start on Monday (ISO 8601).
- Ages are whole years at today's local date, and a 29 February birthday falls on
  28 February in years without that day.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from segmento.engine.errors import RuleSemanticError
from segmento.engine.values import CalendarPeriod, Duration

DEFAULT_TIMEZONE: Final = "Asia/Ho_Chi_Minh"

Interval = tuple[datetime, datetime]
"""Instants ``(start, end)`` in UTC; which ends are included depends on the function."""

DateInterval = tuple[date, date]


@dataclass(frozen=True, slots=True)
class Window:
    """A range of dates or instants. A ``None`` bound leaves that side unbounded.

    ``low_closed`` and ``high_closed`` mark whether each bound itself is inside.
    """

    low: Any = None
    high: Any = None
    low_closed: bool = True
    high_closed: bool = True

    def contains(self, value: Any) -> bool:
        low = self.low
        if low is not None and (value < low if self.low_closed else value <= low):
            return False
        high = self.high
        if high is not None and (value > high if self.high_closed else value >= high):
            return False
        return True

    def __str__(self) -> str:
        if self.low is None and self.high is None:
            return "any time"
        if self.low is None:
            return f"{'<=' if self.high_closed else '<'} {_isoformat(self.high)}"
        if self.high is None:
            return f"{'>=' if self.low_closed else '>'} {_isoformat(self.low)}"
        opening = "[" if self.low_closed else "("
        closing = "]" if self.high_closed else ")"
        return f"{opening}{_isoformat(self.low)}, {_isoformat(self.high)}{closing}"


def _isoformat(value: Any) -> str:
    isoformat = getattr(value, "isoformat", None)
    return isoformat() if callable(isoformat) else str(value)


def load_timezone(name: str | tzinfo) -> tzinfo:
    """Return the zone named ``name`` (IANA name, such as ``Asia/Ho_Chi_Minh``)."""
    if isinstance(name, tzinfo):
        return name
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise RuleSemanticError(
            f"unknown time zone {name!r}",
            value=name,
            hint="Use an IANA time zone name such as Asia/Ho_Chi_Minh or UTC",
            code="unknown_timezone",
        ) from error


@dataclass(frozen=True, slots=True)
class Clock:
    """The instant a segment is evaluated as of, and the shop's time zone.

    ``as_of`` is always aware and in UTC.
    """

    as_of: datetime
    zone: tzinfo

    @classmethod
    def at(cls, as_of: datetime | None = None, timezone: str | tzinfo = DEFAULT_TIMEZONE) -> Clock:
        """Return a clock for ``as_of`` (default now); a naive ``as_of`` is local shop time."""
        zone = load_timezone(timezone)
        if as_of is None:
            instant = datetime.now(UTC)
        elif as_of.tzinfo is None:
            instant = as_of.replace(tzinfo=zone).astimezone(UTC)
        else:
            instant = as_of.astimezone(UTC)
        return cls(instant, zone)

    @property
    def today(self) -> date:
        """The local calendar date of ``as_of``."""
        return self.as_of.astimezone(self.zone).date()

    def local_date(self, instant: datetime) -> date:
        return instant.astimezone(self.zone).date()

    def start_of_day(self, day: date) -> datetime:
        """Return the UTC instant at which local calendar day ``day`` begins."""
        return datetime(day.year, day.month, day.day, tzinfo=self.zone).astimezone(UTC)

    def instant(self, value: datetime) -> datetime:
        """Return ``value`` as an aware UTC instant; a naive value is local shop time."""
        if value.tzinfo is None:
            return value.replace(tzinfo=self.zone).astimezone(UTC)
        return value.astimezone(UTC)

    # --- windows on instants ----------------------------------------------------------

    def last(self, duration: Duration) -> Interval:
        """Return ``(start, end)`` with the window being ``start < t <= end``."""
        return self.as_of - duration.to_timedelta(), self.as_of

    def next(self, duration: Duration) -> Interval:
        """Return ``(start, end)`` with the window being ``start < t <= end``."""
        return self.as_of, self.as_of + duration.to_timedelta()

    def period(self, period: CalendarPeriod) -> Interval:
        """Return ``(start, end)`` with the period being ``start <= t < end``."""
        first, after_last = self.period_dates(period)
        return self.start_of_day(first), self.start_of_day(after_last)

    def day(self, day: date) -> Interval:
        """Return ``(start, end)`` of local day ``day``, the period being ``start <= t < end``."""
        return self.start_of_day(day), self.start_of_day(day + timedelta(days=1))

    # --- windows on dates -------------------------------------------------------------

    def last_dates(self, duration: Duration) -> DateInterval:
        """Return ``(first, last)`` local dates, both included, of ``in last`` on a date field."""
        _require_whole_days(duration)
        return self.local_date(self.as_of - duration.to_timedelta()) + timedelta(days=1), self.today

    def next_dates(self, duration: Duration) -> DateInterval:
        """Return ``(first, last)`` local dates, both included, of ``in next`` on a date field."""
        _require_whole_days(duration)
        return self.today, self.local_date(self.as_of + duration.to_timedelta())

    def period_dates(self, period: CalendarPeriod) -> DateInterval:
        """Return ``(first, after_last)``: the period is ``first <= d < after_last``."""
        today = self.today
        name = period.name
        if name == "today":
            return today, today + timedelta(days=1)
        if name == "yesterday":
            return today - timedelta(days=1), today
        if name in ("this_week", "last_week"):
            monday = today - timedelta(days=today.weekday())
            if name == "last_week":
                monday -= timedelta(days=7)
            return monday, monday + timedelta(days=7)
        if name == "this_month":
            first = today.replace(day=1)
            return first, _add_months(first, 1)
        if name == "last_month":
            first = _add_months(today.replace(day=1), -1)
            return first, today.replace(day=1)
        if name == "this_year":
            return date(today.year, 1, 1), date(today.year + 1, 1, 1)
        raise RuleSemanticError(f"unknown calendar period {name!r}", value=name, code="unknown_period")

    def time_window(self, operator: str, value: Any, kind: str | None) -> Window | None:
        """Return the bounds that a time operator on a ``kind`` field (date or datetime) tests.

        Covers in_last, in_next, in_period, before, after and on, as docs/semantics.md
        tables them. Returns ``None`` when the operator cannot take ``value`` on that kind.
        """
        if operator == "in_last" and isinstance(value, Duration):
            if kind == "date":
                return Window(*self.last_dates(value))
            return Window(*self.last(value), low_closed=False)
        if operator == "in_next" and isinstance(value, Duration):
            if kind == "date":
                return Window(*self.next_dates(value))
            return Window(*self.next(value), low_closed=False)
        if operator == "in_period" and isinstance(value, CalendarPeriod):
            if kind == "date":
                return Window(*self.period_dates(value), high_closed=False)
            return Window(*self.period(value), high_closed=False)
        is_date = isinstance(value, date) and not isinstance(value, datetime)
        if kind == "date" and is_date:
            if operator == "before":
                return Window(high=value, high_closed=False)
            if operator == "after":
                return Window(low=value, low_closed=False)
            if operator == "on":
                return Window(value, value)
        if kind == "datetime" and isinstance(value, datetime):
            if operator == "before":
                return Window(high=self.instant(value), high_closed=False)
            if operator == "after":
                return Window(low=self.instant(value), low_closed=False)
            if operator == "on":
                return Window(*self.day(self.local_date(self.instant(value))), high_closed=False)
        if kind == "datetime" and is_date:
            if operator == "before":
                return Window(high=self.start_of_day(value), high_closed=False)
            if operator == "after":
                return Window(low=self.start_of_day(value + timedelta(days=1)))
            if operator == "on":
                return Window(*self.day(value), high_closed=False)
        return None

    # --- birthdays and ages -----------------------------------------------------------

    def birthdays_between(self, first: date, last: date) -> frozenset[tuple[int, int]]:
        """Return the (month, day) birthdays celebrated on any local date in ``[first, last]``.

        In a year without 29 February, that birthday is celebrated on 28 February.
        """
        days: set[tuple[int, int]] = set()
        current = first
        while current <= last:
            days.add((current.month, current.day))
            if current.month == 2 and current.day == 28 and not calendar.isleap(current.year):
                days.add((2, 29))
            current += timedelta(days=1)
        return frozenset(days)

    def birthdays_in_next(self, days: int) -> frozenset[tuple[int, int]]:
        """Return the birthdays celebrated from today to ``days`` days ahead, both included."""
        return self.birthdays_between(self.today, self.today + timedelta(days=days))

    def latest_birth_date(self, years: int) -> date:
        """Return the latest birth date of a person at least ``years`` old today."""
        today = self.today
        year = today.year - years
        candidate = date(year, today.month, min(today.day, calendar.monthrange(year, today.month)[1]))
        # A 29 February birth date counts as 28 February in non-leap years, so the day
        # after the candidate may also be old enough.
        while age_on(candidate + timedelta(days=1), today) >= years:
            candidate += timedelta(days=1)
        return candidate

    def birth_dates_for_age(self, operator: str, value: int | tuple[int, int]) -> tuple[date | None, date | None]:
        """Return ``(after, until)`` such that the age test holds when ``after < birthday <= until``.

        ``None`` leaves that side open. ``operator`` is one of eq, gt, gte, lt, lte, between.
        """
        if operator == "between":
            low, high = value  # type: ignore[misc]
            return self.latest_birth_date(high + 1), self.latest_birth_date(low)
        years = int(value)  # type: ignore[arg-type]
        if operator == "eq":
            return self.latest_birth_date(years + 1), self.latest_birth_date(years)
        if operator == "gte":
            return None, self.latest_birth_date(years)
        if operator == "gt":
            return None, self.latest_birth_date(years + 1)
        if operator == "lte":
            return self.latest_birth_date(years + 1), None
        if operator == "lt":
            return self.latest_birth_date(years), None
        raise RuleSemanticError(f"operator {operator!r} does not apply to an age", value=operator, code="age_operator")


def age_on(birthday: date, today: date) -> int:
    """Return the age in whole years on ``today`` of a person born on ``birthday``."""
    month, day = birthday.month, birthday.day
    if month == 2 and day == 29 and not calendar.isleap(today.year):
        day = 28
    before_birthday = (today.month, today.day) < (month, day)
    return today.year - birthday.year - (1 if before_birthday else 0)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _require_whole_days(duration: Duration) -> None:
    if duration.unit not in ("days", "weeks"):
        raise RuleSemanticError(
            f"a date field has no time of day, so a window of {duration} is not defined",
            value=str(duration),
            hint="Write the window in days or weeks, or use a datetime field",
            code="date_window_unit",
        )
