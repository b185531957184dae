"""Cases on dates, instants, windows, calendar periods, birthdays and ages.

The default ``as_of`` is 2024-03-01T02:00Z: 09:00 on Friday 1 March 2024 in the shop's
zone (UTC+7), so local midnight is 17:00 UTC of the day before.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from segmento.engine.ast import Comparison as C
from segmento.engine.values import CalendarPeriod, Duration
from tests.cases import case

INSTANTS = (
    {"id": "d01", "signed_up_at": "2024-02-29T16:59:59Z"},  # local 23:59:59 on 29 February
    {"id": "d02", "signed_up_at": "2024-02-29T17:00:00Z"},  # local midnight starting 1 March
    {"id": "d03", "signed_up_at": "2024-03-01T02:00:00Z"},  # as_of
    {"id": "d04", "signed_up_at": "2024-03-01T02:00:00.000001Z"},  # just after as_of
    {"id": "d05", "signed_up_at": "2024-02-23T02:00:00Z"},  # exactly 7 days before as_of
    {"id": "d06", "signed_up_at": "2024-02-23T02:00:01Z"},
    {"id": "d07", "signed_up_at": None},
    {"id": "d08"},
    {"id": "d09", "signed_up_at": "2024-02-26T00:00:00+07:00"},  # local midnight starting Monday
    {"id": "d10", "signed_up_at": "2023-12-31T16:59:59Z"},  # local last second of 2023
    {"id": "d11", "signed_up_at": "2024-01-31T17:00:00Z"},  # local midnight starting February
)

BIRTHDAYS = (
    {"id": "b01", "birthday": "2000-02-29"},
    {"id": "b02", "birthday": "1990-03-01"},
    {"id": "b03", "birthday": "2006-03-01"},
    {"id": "b04", "birthday": "2006-03-02"},
    {"id": "b05", "birthday": "1985-12-31"},
    {"id": "b06", "birthday": None},
    {"id": "b07"},
    {"id": "b08", "birthday": "2024-02-23"},
    {"id": "b09", "birthday": "2024-02-24"},
    {"id": "b10", "birthday": "2024-03-08"},
)

_LOCAL_MIDNIGHT_1_MARCH = datetime(2024, 2, 29, 17, 30, tzinfo=UTC)
"""00:30 local on 1 March while the UTC date is still 29 February."""
_NON_LEAP_28_FEBRUARY = datetime(2025, 2, 28, 5, 0, tzinfo=UTC)
_NON_LEAP_27_FEBRUARY = datetime(2025, 2, 27, 5, 0, tzinfo=UTC)
_LEAP_28_FEBRUARY = datetime(2024, 2, 28, 5, 0, tzinfo=UTC)

_BEFORE_1_MARCH = ["d01", "d05", "d06", "d09", "d10", "d11"]

CASES = [
    # --- instants and local days ------------------------------------------------------
    case("datetime-on-local-day", C("signed_up_at", "on", date(2024, 3, 1)), INSTANTS, ["d02", "d03", "d04"]),
    case("datetime-on-previous-day", C("signed_up_at", "on", date(2024, 2, 29)), INSTANTS, ["d01"]),
    case("datetime-before-date", C("signed_up_at", "before", date(2024, 3, 1)), INSTANTS, _BEFORE_1_MARCH),
    case("datetime-after-date", C("signed_up_at", "after", date(2024, 2, 29)), INSTANTS, ["d02", "d03", "d04"]),
    case(
        "datetime-before-local-literal",
        C("signed_up_at", "before", datetime(2024, 3, 1, 0, 0)),
        INSTANTS,
        _BEFORE_1_MARCH,
    ),
    case(
        "datetime-after-utc-literal",
        C("signed_up_at", "after", datetime(2024, 3, 1, 2, 0, tzinfo=UTC)),
        INSTANTS,
        ["d04"],
    ),
    case("datetime-eq-local-literal", C("signed_up_at", "eq", datetime(2024, 2, 29, 23, 59, 59)), INSTANTS, ["d01"]),
    case(
        "datetime-eq-microsecond",
        C("signed_up_at", "eq", datetime(2024, 3, 1, 2, 0, 0, 1, tzinfo=UTC)),
        INSTANTS,
        ["d04"],
    ),
    case(
        "datetime-lte",
        C("signed_up_at", "lte", datetime(2024, 2, 29, 16, 59, 59, tzinfo=UTC)),
        INSTANTS,
        ["d01", "d05", "d06", "d09", "d10", "d11"],
    ),
    case(
        "datetime-between-inclusive",
        C("signed_up_at", "between", (datetime(2024, 2, 23, 9, 0), datetime(2024, 3, 1, 9, 0))),
        INSTANTS,
        ["d01", "d02", "d03", "d05", "d06", "d09"],
    ),
    case("datetime-is-not-set", C("signed_up_at", "is_not_set"), INSTANTS, ["d07", "d08"]),
    # --- windows before and after as_of ---------------------------------------------------
    case(
        "datetime-in-last-7-days",
        C("signed_up_at", "in_last", Duration(7, "days")),
        INSTANTS,
        ["d01", "d02", "d03", "d06", "d09"],
    ),
    case(
        "datetime-not-in-last-7-days",
        C("signed_up_at", "not_in_last", Duration(7, "days")),
        INSTANTS,
        ["d04", "d05", "d07", "d08", "d10", "d11"],
    ),
    case("datetime-in-last-2-hours", C("signed_up_at", "in_last", Duration(2, "hours")), INSTANTS, ["d03"]),
    case("datetime-in-next-1-day", C("signed_up_at", "in_next", Duration(1, "days")), INSTANTS, ["d04"]),
    # --- calendar periods in local time ---------------------------------------------------
    case(
        "datetime-in-period-today",
        C("signed_up_at", "in_period", CalendarPeriod("today")),
        INSTANTS,
        ["d02", "d03", "d04"],
    ),
    case(
        "datetime-in-period-yesterday",
        C("signed_up_at", "in_period", CalendarPeriod("yesterday")),
        INSTANTS,
        ["d01"],
    ),
    case(
        "datetime-in-period-this-week",
        C("signed_up_at", "in_period", CalendarPeriod("this_week")),
        INSTANTS,
        ["d01", "d02", "d03", "d04", "d09"],
    ),
    case(
        "datetime-in-period-last-month",
        C("signed_up_at", "in_period", CalendarPeriod("last_month")),
        INSTANTS,
        ["d01", "d05", "d06", "d09", "d11"],
    ),
    case(
        "datetime-not-in-period-this-year",
        C("signed_up_at", "not_in_period", CalendarPeriod("this_year")),
        INSTANTS,
        ["d07", "d08", "d10"],
    ),
    # --- dates ----------------------------------------------------------------------------
    case("date-eq", C("birthday", "eq", date(1990, 3, 1)), BIRTHDAYS, ["b02"]),
    case("date-before", C("birthday", "before", date(2000, 1, 1)), BIRTHDAYS, ["b02", "b05"]),
    case("date-after", C("birthday", "after", date(2024, 2, 23)), BIRTHDAYS, ["b09", "b10"]),
    case(
        "date-between-inclusive",
        C("birthday", "between", (date(2006, 3, 1), date(2024, 2, 24))),
        BIRTHDAYS,
        ["b03", "b04", "b08", "b09"],
    ),
    case("date-in", C("birthday", "in", (date(2000, 2, 29), date(1985, 12, 31))), BIRTHDAYS, ["b01", "b05"]),
    case("date-in-last-7-days", C("birthday", "in_last", Duration(7, "days")), BIRTHDAYS, ["b09"]),
    case("date-in-next-7-days", C("birthday", "in_next", Duration(7, "days")), BIRTHDAYS, ["b10"]),
    case("date-in-next-1-week", C("birthday", "in_next", Duration(1, "weeks")), BIRTHDAYS, ["b10"]),
    case("date-in-period-this-month", C("birthday", "in_period", CalendarPeriod("this_month")), BIRTHDAYS, ["b10"]),
    case(
        "date-not-in-period-last-month",
        C("birthday", "not_in_period", CalendarPeriod("last_month")),
        BIRTHDAYS,
        ["b01", "b02", "b03", "b04", "b05", "b06", "b07", "b10"],
    ),
    # --- birthdays ------------------------------------------------------------------------
    case("birthday-today", C("birthday", "birthday_today"), BIRTHDAYS, ["b02", "b03"]),
    case("birthday-in-next-6-days", C("birthday", "birthday_in_next", 6), BIRTHDAYS, ["b02", "b03", "b04"]),
    case("birthday-in-month-february", C("birthday", "birthday_in_month", 2), BIRTHDAYS, ["b01", "b08", "b09"]),
    case("birthday-in-month-december", C("birthday", "birthday_in_month", 12), BIRTHDAYS, ["b05"]),
    case(
        "birthday-today-local-date",
        C("birthday", "birthday_today"),
        BIRTHDAYS,
        ["b02", "b03"],
        as_of=_LOCAL_MIDNIGHT_1_MARCH,
    ),
    case(
        "birthday-29-february-non-leap",
        C("birthday", "birthday_today"),
        BIRTHDAYS,
        ["b01"],
        as_of=_NON_LEAP_28_FEBRUARY,
    ),
    case("birthday-29-february-leap", C("birthday", "birthday_today"), BIRTHDAYS, [], as_of=_LEAP_28_FEBRUARY),
    case(
        "birthday-next-day-leap",
        C("birthday", "birthday_in_next", 1),
        BIRTHDAYS,
        ["b01"],
        as_of=_LEAP_28_FEBRUARY,
    ),
    # --- ages -----------------------------------------------------------------------------
    case("age-eq-birthday-today", C("age", "eq", 18), BIRTHDAYS, ["b03"]),
    case("age-gte", C("age", "gte", 18), BIRTHDAYS, ["b01", "b02", "b03", "b05"]),
    case("age-gt", C("age", "gt", 18), BIRTHDAYS, ["b01", "b02", "b05"]),
    case("age-lt", C("age", "lt", 18), BIRTHDAYS, ["b04", "b08", "b09", "b10"]),
    case("age-lte", C("age", "lte", 17), BIRTHDAYS, ["b04", "b08", "b09", "b10"]),
    case("age-between-inclusive", C("age", "between", (18, 34)), BIRTHDAYS, ["b01", "b02", "b03"]),
    case("age-in", C("age", "in", (0, 38)), BIRTHDAYS, ["b05", "b08", "b09"]),
    case(
        "age-ne-includes-missing",
        C("age", "ne", 18),
        BIRTHDAYS,
        ["b01", "b02", "b04", "b05", "b06", "b07", "b08", "b09", "b10"],
    ),
    case(
        "age-is-set",
        C("age", "is_set"),
        BIRTHDAYS,
        ["b01", "b02", "b03", "b04", "b05", "b08", "b09", "b10"],
    ),
    case("age-local-date", C("age", "eq", 18), BIRTHDAYS, ["b03"], as_of=_LOCAL_MIDNIGHT_1_MARCH),
    case("age-29-february-non-leap", C("age", "eq", 25), BIRTHDAYS, ["b01"], as_of=_NON_LEAP_28_FEBRUARY),
    case("age-29-february-day-before", C("age", "eq", 24), BIRTHDAYS, ["b01"], as_of=_NON_LEAP_27_FEBRUARY),
]
