"""The in-memory evaluator and time: local days in UTC+7, windows, periods, ages, birthdays."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from segmento.engine.ast import Comparison, EventCondition
from segmento.engine.evaluator import compile_predicate
from segmento.engine.profiles import coerce_profile
from segmento.engine.temporal import Clock
from segmento.engine.values import CalendarPeriod, Duration

# Asia/Ho_Chi_Minh is UTC+7 with no daylight saving time: local midnight of 15 May 2024
# is 2024-05-14T17:00:00Z.
AS_OF = datetime(2024, 5, 15, 5, 0, tzinfo=UTC)
LOCAL_MIDNIGHT = datetime(2024, 5, 14, 17, 0, tzinfo=UTC)
SECOND = timedelta(seconds=1)
MICROSECOND = timedelta(microseconds=1)


def matches(
    condition: Any, fields: dict[str, Any], as_of: datetime = AS_OF, timezone: str = "Asia/Ho_Chi_Minh"
) -> bool:
    profile = coerce_profile({"id": "p1", **fields})
    return compile_predicate(condition, as_of=as_of, timezone=timezone)(profile)


def signed_up(instant: datetime) -> dict[str, Any]:
    return {"signed_up_at": instant.isoformat()}


# --- local days on datetime fields ----------------------------------------------------------


def test_on_local_day_boundaries() -> None:
    on_15th = Comparison("signed_up_at", "on", date(2024, 5, 15))
    assert matches(on_15th, signed_up(LOCAL_MIDNIGHT - SECOND)) is False
    assert matches(on_15th, signed_up(LOCAL_MIDNIGHT)) is True
    assert matches(on_15th, signed_up(LOCAL_MIDNIGHT + timedelta(days=1) - SECOND)) is True
    assert matches(on_15th, signed_up(LOCAL_MIDNIGHT + timedelta(days=1))) is False


def test_on_utc_day_differs_from_local_day() -> None:
    on_15th = Comparison("signed_up_at", "on", date(2024, 5, 15))
    late_on_14th_utc = signed_up(datetime(2024, 5, 14, 20, 0, tzinfo=UTC))
    assert matches(on_15th, late_on_14th_utc) is True
    assert matches(on_15th, late_on_14th_utc, timezone="UTC") is False


def test_before_date_on_datetime_field() -> None:
    before_15th = Comparison("signed_up_at", "before", date(2024, 5, 15))
    assert matches(before_15th, signed_up(LOCAL_MIDNIGHT - SECOND)) is True
    assert matches(before_15th, signed_up(LOCAL_MIDNIGHT)) is False


def test_after_date_on_datetime_field_starts_next_day() -> None:
    after_14th = Comparison("signed_up_at", "after", date(2024, 5, 14))
    assert matches(after_14th, signed_up(LOCAL_MIDNIGHT - SECOND)) is False
    assert matches(after_14th, signed_up(LOCAL_MIDNIGHT)) is True


def test_before_and_after_datetime_are_strict() -> None:
    instant = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert matches(Comparison("signed_up_at", "before", instant), signed_up(instant)) is False
    assert matches(Comparison("signed_up_at", "after", instant), signed_up(instant)) is False
    assert matches(Comparison("signed_up_at", "after", instant), signed_up(instant + MICROSECOND)) is True
    assert matches(Comparison("signed_up_at", "before", instant), signed_up(instant - MICROSECOND)) is True


def test_datetime_literal_without_offset_is_local_time() -> None:
    local_midnight_literal = datetime(2024, 5, 15, 0, 0)
    assert matches(Comparison("signed_up_at", "eq", local_midnight_literal), signed_up(LOCAL_MIDNIGHT)) is True
    assert matches(Comparison("signed_up_at", "gt", local_midnight_literal), signed_up(LOCAL_MIDNIGHT)) is False
    assert matches(Comparison("signed_up_at", "gte", local_midnight_literal), signed_up(LOCAL_MIDNIGHT)) is True
    between = Comparison("signed_up_at", "between", (local_midnight_literal, datetime(2024, 5, 15, 23, 59, 59)))
    assert matches(between, signed_up(LOCAL_MIDNIGHT - SECOND)) is False
    assert matches(between, signed_up(LOCAL_MIDNIGHT + timedelta(days=1) - SECOND)) is True


def test_datetime_literal_with_offset_is_that_instant() -> None:
    literal = datetime(2024, 5, 15, 0, 0, tzinfo=UTC)
    assert matches(Comparison("signed_up_at", "eq", literal), signed_up(literal)) is True
    assert matches(Comparison("signed_up_at", "eq", literal), signed_up(LOCAL_MIDNIGHT)) is False


def test_stored_naive_datetime_is_utc() -> None:
    on_15th = Comparison("signed_up_at", "on", date(2024, 5, 15))
    assert matches(on_15th, {"signed_up_at": "2024-05-14T16:59:59"}) is False
    assert matches(on_15th, {"signed_up_at": "2024-05-14T17:00:00"}) is True


# --- windows on datetime fields ---------------------------------------------------------------


def test_in_last_datetime_window_bounds() -> None:
    last_7_days = Comparison("last_purchase_at", "in_last", Duration(7, "days"))
    start = AS_OF - timedelta(days=7)
    assert matches(last_7_days, {"last_purchase_at": start.isoformat()}) is False
    assert matches(last_7_days, {"last_purchase_at": (start + MICROSECOND).isoformat()}) is True
    assert matches(last_7_days, {"last_purchase_at": AS_OF.isoformat()}) is True
    assert matches(last_7_days, {"last_purchase_at": (AS_OF + SECOND).isoformat()}) is False
    assert matches(last_7_days, {}) is False


def test_not_in_last_on_missing_value() -> None:
    assert matches(Comparison("last_purchase_at", "not_in_last", Duration(2, "hours")), {}) is True


def test_in_next_datetime_window_bounds() -> None:
    next_2_hours = Comparison("last_purchase_at", "in_next", Duration(2, "hours"))
    assert matches(next_2_hours, {"last_purchase_at": AS_OF.isoformat()}) is False
    assert matches(next_2_hours, {"last_purchase_at": (AS_OF + timedelta(hours=2)).isoformat()}) is True
    assert matches(next_2_hours, {"last_purchase_at": (AS_OF + timedelta(hours=2, seconds=1)).isoformat()}) is False


def test_in_period_today_on_datetime_field() -> None:
    today = Comparison("last_purchase_at", "in_period", CalendarPeriod("today"))
    assert matches(today, {"last_purchase_at": (LOCAL_MIDNIGHT - SECOND).isoformat()}) is False
    assert matches(today, {"last_purchase_at": LOCAL_MIDNIGHT.isoformat()}) is True
    assert matches(today, {"last_purchase_at": (LOCAL_MIDNIGHT + timedelta(days=1) - SECOND).isoformat()}) is True


def test_in_period_this_month_starts_at_local_midnight() -> None:
    # Local time 1 February 2024 00:00 is 2024-01-31T17:00:00Z.
    as_of = datetime(2024, 2, 10, 0, 0, tzinfo=UTC)
    this_month = Comparison("last_purchase_at", "in_period", CalendarPeriod("this_month"))
    last_month = Comparison("last_purchase_at", "in_period", CalendarPeriod("last_month"))
    first_instant = {"last_purchase_at": "2024-01-31T17:00:00Z"}
    last_january_instant = {"last_purchase_at": "2024-01-31T16:59:59.999999Z"}
    assert matches(this_month, first_instant, as_of) is True
    assert matches(this_month, last_january_instant, as_of) is False
    assert matches(last_month, last_january_instant, as_of) is True
    assert matches(last_month, first_instant, as_of) is False


# --- windows on date fields -------------------------------------------------------------------


def birthday_on(day: date) -> dict[str, Any]:
    return {"birthday": day.isoformat()}


def test_in_last_days_on_date_field_ends_today() -> None:
    today = date(2024, 5, 15)
    last_7_days = Comparison("birthday", "in_last", Duration(7, "days"))
    assert matches(last_7_days, birthday_on(today)) is True
    assert matches(last_7_days, birthday_on(today - timedelta(days=6))) is True
    assert matches(last_7_days, birthday_on(today - timedelta(days=7))) is False
    assert matches(last_7_days, birthday_on(today + timedelta(days=1))) is False


def test_in_last_on_date_field_uses_local_today() -> None:
    # 2024-05-14T17:30Z is already 15 May in UTC+7, and still 14 May in UTC.
    as_of = datetime(2024, 5, 14, 17, 30, tzinfo=UTC)
    last_day = Comparison("birthday", "in_last", Duration(1, "days"))
    assert matches(last_day, birthday_on(date(2024, 5, 15)), as_of) is True
    assert matches(last_day, birthday_on(date(2024, 5, 15)), as_of, timezone="UTC") is False


def test_in_next_days_on_date_field_starts_today() -> None:
    today = date(2024, 5, 15)
    next_3_days = Comparison("birthday", "in_next", Duration(3, "days"))
    assert matches(next_3_days, birthday_on(today)) is True
    assert matches(next_3_days, birthday_on(today + timedelta(days=3))) is True
    assert matches(next_3_days, birthday_on(today + timedelta(days=4))) is False
    assert matches(next_3_days, birthday_on(today - timedelta(days=1))) is False


def test_before_and_after_on_date_field() -> None:
    assert matches(Comparison("birthday", "before", date(2000, 1, 1)), birthday_on(date(1999, 12, 31))) is True
    assert matches(Comparison("birthday", "before", date(2000, 1, 1)), birthday_on(date(2000, 1, 1))) is False
    assert matches(Comparison("birthday", "after", date(2000, 1, 1)), birthday_on(date(2000, 1, 1))) is False
    assert matches(Comparison("birthday", "after", date(2000, 1, 1)), birthday_on(date(2000, 1, 2))) is True


PERIOD_CASES = [
    # (as_of, period, date, expected): as_of 2024-01-31T16:59:59Z is 23:59:59 on 31 January local.
    ("month-end-this", datetime(2024, 1, 31, 16, 59, 59, tzinfo=UTC), "this_month", date(2024, 1, 31), True),
    ("month-end-next-day", datetime(2024, 1, 31, 16, 59, 59, tzinfo=UTC), "this_month", date(2024, 2, 1), False),
    ("month-start-this", datetime(2024, 1, 31, 17, 0, tzinfo=UTC), "this_month", date(2024, 2, 1), True),
    ("month-start-previous", datetime(2024, 1, 31, 17, 0, tzinfo=UTC), "this_month", date(2024, 1, 31), False),
    ("month-start-last", datetime(2024, 1, 31, 17, 0, tzinfo=UTC), "last_month", date(2024, 1, 31), True),
    ("month-start-last-first", datetime(2024, 1, 31, 17, 0, tzinfo=UTC), "last_month", date(2024, 1, 1), True),
    ("month-start-last-before", datetime(2024, 1, 31, 17, 0, tzinfo=UTC), "last_month", date(2023, 12, 31), False),
    ("leap-february", datetime(2024, 2, 29, 5, 0, tzinfo=UTC), "this_month", date(2024, 2, 29), True),
    ("march-last-month-leap", datetime(2024, 3, 1, 5, 0, tzinfo=UTC), "last_month", date(2024, 2, 29), True),
    ("year-end-this", datetime(2024, 12, 31, 16, 0, tzinfo=UTC), "this_year", date(2024, 12, 31), True),
    ("year-start-this", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "this_year", date(2025, 1, 1), True),
    ("year-start-old-year", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "this_year", date(2024, 12, 31), False),
    ("year-start-last-month", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "last_month", date(2024, 12, 1), True),
    ("week-across-year", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "this_week", date(2024, 12, 30), True),
    ("week-across-year-sunday", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "this_week", date(2025, 1, 5), True),
    ("week-across-year-monday", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "this_week", date(2025, 1, 6), False),
    ("last-week-sunday", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "last_week", date(2024, 12, 29), True),
    ("last-week-monday", datetime(2024, 12, 31, 17, 0, tzinfo=UTC), "last_week", date(2024, 12, 23), True),
    ("yesterday", datetime(2025, 1, 1, 0, 0, tzinfo=UTC), "yesterday", date(2024, 12, 31), True),
    ("today", datetime(2025, 1, 1, 0, 0, tzinfo=UTC), "today", date(2025, 1, 1), True),
]


@pytest.mark.parametrize(("as_of", "period", "day", "expected"), [case[1:] for case in PERIOD_CASES],
                         ids=[case[0] for case in PERIOD_CASES])
def test_calendar_periods_on_date_field(as_of: datetime, period: str, day: date, expected: bool) -> None:
    condition = Comparison("birthday", "in_period", CalendarPeriod(period))  # type: ignore[arg-type]
    assert matches(condition, birthday_on(day), as_of) is expected
    negated = Comparison("birthday", "not_in_period", CalendarPeriod(period))  # type: ignore[arg-type]
    assert matches(negated, birthday_on(day), as_of) is not expected


# --- events windows -----------------------------------------------------------------------------


def events_at(*instants: datetime) -> dict[str, Any]:
    return {"events": [{"kind": "add_to_cart", "time": instant.isoformat()} for instant in instants]}


def test_event_window_exact_bounds() -> None:
    last_7_days = EventCondition("add_to_cart", "count", "eq", 1, window=Duration(7, "days"))
    start = AS_OF - timedelta(days=7)
    assert matches(last_7_days, events_at(start)) is False
    assert matches(last_7_days, events_at(start + MICROSECOND)) is True
    assert matches(last_7_days, events_at(AS_OF)) is True
    assert matches(last_7_days, events_at(AS_OF + MICROSECOND)) is False


def test_events_after_as_of_never_count() -> None:
    whole_history = EventCondition("add_to_cart", "count", "eq", 1)
    assert matches(whole_history, events_at(AS_OF, AS_OF + SECOND)) is True
    this_month = EventCondition("add_to_cart", "count", "eq", 1, window=CalendarPeriod("this_month"))
    assert matches(this_month, events_at(AS_OF, AS_OF + timedelta(days=3))) is True


def test_event_period_today_at_local_midnight() -> None:
    today = EventCondition("add_to_cart", "count", "gte", 1, window=CalendarPeriod("today"))
    assert matches(today, events_at(LOCAL_MIDNIGHT - SECOND)) is False
    assert matches(today, events_at(LOCAL_MIDNIGHT)) is True


def test_event_period_yesterday_ends_before_local_midnight() -> None:
    yesterday = EventCondition("add_to_cart", "count", "eq", 1, window=CalendarPeriod("yesterday"))
    assert matches(yesterday, events_at(LOCAL_MIDNIGHT - SECOND)) is True
    assert matches(yesterday, events_at(LOCAL_MIDNIGHT)) is False
    assert matches(yesterday, events_at(LOCAL_MIDNIGHT - timedelta(days=1))) is True
    assert matches(yesterday, events_at(LOCAL_MIDNIGHT - timedelta(days=1) - SECOND)) is False


def test_event_window_uses_local_midnight_not_utc() -> None:
    today = EventCondition("add_to_cart", "count", "eq", 1, window=CalendarPeriod("today"))
    utc_morning = datetime(2024, 5, 15, 1, 0, tzinfo=UTC)
    late_14th_utc = datetime(2024, 5, 14, 20, 0, tzinfo=UTC)
    assert matches(today, events_at(late_14th_utc), utc_morning) is True
    assert matches(today, events_at(late_14th_utc), utc_morning, timezone="UTC") is False


# --- ages and birthdays ---------------------------------------------------------------------------


def local_noon(day: date) -> datetime:
    """Return the instant of noon on local day ``day`` in UTC+7."""
    return datetime(day.year, day.month, day.day, 5, 0, tzinfo=UTC)


AGE_CASES = [
    ("leap-born-non-leap-28th", date(2000, 2, 29), date(2023, 2, 28), 23),
    ("leap-born-non-leap-27th", date(2000, 2, 29), date(2023, 2, 27), 22),
    ("leap-born-leap-28th", date(2000, 2, 29), date(2024, 2, 28), 23),
    ("leap-born-leap-29th", date(2000, 2, 29), date(2024, 2, 29), 24),
    ("leap-born-march-1st", date(2000, 2, 29), date(2023, 3, 1), 23),
    ("day-before-birthday", date(1990, 5, 16), date(2024, 5, 15), 33),
    ("on-birthday", date(1990, 5, 15), date(2024, 5, 15), 34),
    ("born-28th-leap-year", date(1990, 2, 28), date(2024, 2, 28), 34),
    ("newborn", date(2024, 5, 15), date(2024, 5, 15), 0),
]


@pytest.mark.parametrize(("birthday", "today", "age"), [case[1:] for case in AGE_CASES],
                         ids=[case[0] for case in AGE_CASES])
def test_age_on_local_date(birthday: date, today: date, age: int) -> None:
    as_of = local_noon(today)
    assert matches(Comparison("age", "eq", age), birthday_on(birthday), as_of) is True
    assert matches(Comparison("age", "gt", age), birthday_on(birthday), as_of) is False
    assert matches(Comparison("age", "between", (age, age + 1)), birthday_on(birthday), as_of) is True


def test_age_uses_local_date_of_as_of() -> None:
    # 2024-05-14T18:00Z is 15 May in UTC+7 but 14 May in UTC.
    as_of = datetime(2024, 5, 14, 18, 0, tzinfo=UTC)
    born = birthday_on(date(1990, 5, 15))
    assert matches(Comparison("age", "eq", 34), born, as_of) is True
    assert matches(Comparison("age", "eq", 33), born, as_of, timezone="UTC") is True


def test_age_missing_birthday() -> None:
    assert matches(Comparison("age", "gte", 0), {}) is False
    assert matches(Comparison("age", "ne", 30), {}) is True
    assert matches(Comparison("age", "is_not_set"), {}) is True
    assert matches(Comparison("age", "in", (30, 31)), birthday_on(date(1993, 5, 15))) is True


def test_stored_age_is_ignored() -> None:
    assert matches(Comparison("age", "eq", 50), {"birthday": "1990-05-15", "age": 50}) is False
    assert matches(Comparison("age", "eq", 34), {"birthday": "1990-05-15", "age": 50}) is True


@pytest.mark.parametrize("today", [date(2023, 2, 28), date(2024, 2, 28), date(2024, 2, 29), date(2024, 12, 31)])
@pytest.mark.parametrize("operator", ["eq", "gt", "gte", "lt", "lte", "between"])
def test_age_agrees_with_birth_date_ranges(today: date, operator: str) -> None:
    as_of = local_noon(today)
    clock = Clock.at(as_of, "Asia/Ho_Chi_Minh")
    rule_value: Any = (20, 23) if operator == "between" else 23
    after, until = clock.birth_dates_for_age(operator, rule_value)
    predicate = compile_predicate(Comparison("age", operator, rule_value), as_of=as_of)
    birthday = date(1998, 1, 1)
    while birthday <= date(2005, 12, 31):
        expected = (after is None or after < birthday) and (until is None or birthday <= until)
        profile = {"id": "p", "birthday": birthday}
        assert predicate(profile) is expected, birthday
        birthday += timedelta(days=1)


BIRTHDAY_CASES = [
    ("today-leap-born-non-leap-28th", "birthday_today", None, date(2000, 2, 29), date(2023, 2, 28), True),
    ("today-leap-born-leap-28th", "birthday_today", None, date(2000, 2, 29), date(2024, 2, 28), False),
    ("today-leap-born-leap-29th", "birthday_today", None, date(2000, 2, 29), date(2024, 2, 29), True),
    ("today-28th-born-leap-29th", "birthday_today", None, date(2001, 2, 28), date(2024, 2, 29), False),
    ("today-plain", "birthday_today", None, date(1990, 5, 15), date(2024, 5, 15), True),
    ("next-covers-leap-day", "birthday_in_next", 3, date(2000, 2, 29), date(2023, 2, 27), True),
    ("next-leap-year-29th", "birthday_in_next", 1, date(2000, 2, 29), date(2024, 2, 28), True),
    ("next-last-day-included", "birthday_in_next", 30, date(1990, 6, 14), date(2024, 5, 15), True),
    ("next-day-after-excluded", "birthday_in_next", 30, date(1990, 6, 15), date(2024, 5, 15), False),
    ("next-year-wrap", "birthday_in_next", 5, date(1990, 1, 3), date(2024, 12, 30), True),
    ("next-past-birthday", "birthday_in_next", 5, date(1990, 5, 14), date(2024, 5, 15), False),
    ("month-february", "birthday_in_month", 2, date(2000, 2, 29), date(2023, 7, 1), True),
    ("month-other", "birthday_in_month", 3, date(2000, 2, 29), date(2023, 7, 1), False),
]


@pytest.mark.parametrize(("operator", "value", "birthday", "today", "expected"), [case[1:] for case in BIRTHDAY_CASES],
                         ids=[case[0] for case in BIRTHDAY_CASES])
def test_birthday_operators(operator: str, value: Any, birthday: date, today: date, expected: bool) -> None:
    assert matches(Comparison("birthday", operator, value), birthday_on(birthday), local_noon(today)) is expected


def test_birthday_operators_on_missing_birthday() -> None:
    assert matches(Comparison("birthday", "birthday_today"), {}) is False
    assert matches(Comparison("birthday", "birthday_in_month", 5), {"birthday": None}) is False


def test_time_window_on_date_spans_local_day() -> None:
    clock = Clock.at(datetime(2024, 3, 1, 12, tzinfo=UTC), "Asia/Ho_Chi_Minh")
    window = clock.time_window("on", date(2024, 3, 1), "datetime")
    assert window is not None
    assert window.low == datetime(2024, 2, 29, 17, tzinfo=UTC)
    assert window.high == datetime(2024, 3, 1, 17, tzinfo=UTC)
    assert window.contains(datetime(2024, 2, 29, 17, tzinfo=UTC))
    assert not window.contains(datetime(2024, 3, 1, 17, tzinfo=UTC))


def test_time_window_rejects_mismatched_value() -> None:
    clock = Clock.at(datetime(2024, 3, 1, 12, tzinfo=UTC))
    assert clock.time_window("on", "2024-03-01", "datetime") is None
    assert clock.time_window("before", datetime(2024, 3, 1), "date") is None
