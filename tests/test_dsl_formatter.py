"""Printing rule nodes as canonical DSL text."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from segmento.engine.ast import (
    Comparison,
    EventCondition,
    Group,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.dsl.formatter import (
    format_condition,
    format_segment,
    format_segments,
)
from segmento.engine.dsl.parser import parse_condition, parse_segment, parse_segments
from segmento.engine.values import CalendarPeriod, Duration
from tests.test_dsl_parser import DESIGN_EXAMPLE, SPELLING_CASES


@pytest.mark.parametrize(("expected", "node"), SPELLING_CASES, ids=[text for text, _ in SPELLING_CASES])
def test_node_formats_to_spelling(expected: str, node: Any) -> None:
    assert format_condition(node) == expected


def test_design_example_is_canonical() -> None:
    assert format_segment(parse_segment(DESIGN_EXAMPLE)) == DESIGN_EXAMPLE


def test_spacing_is_normalized_and_comments_kept() -> None:
    text = 'segment   a   "A"  # note\n\n\nall{\n\tx=1\n    y   in["a","b",]\n}'

    assert format_segments(parse_segments(text)) == 'segment a "A"  # note\nall {\n  x = 1\n  y in ["a", "b"]\n}\n'


# --- numbers -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (9_999, "9999"),
        (10_000, "10_000"),
        (-10_000, "-10_000"),
        (5_000_000, "5_000_000"),
        (-42, "-42"),
        (Decimal("0.1"), "0.1"),
        (Decimal("5"), "5.0"),
        (Decimal("-0.50"), "-0.50"),
        (Decimal("1E+3"), "1000.0"),
        (Decimal("1.5E-7"), "0.00000015"),
        (Decimal("5000000.50"), "5_000_000.50"),
        (Decimal("-12345.6"), "-12_345.6"),
    ],
)
def test_number_format(value: int | Decimal, text: str) -> None:
    condition = Comparison("x", "eq", value)

    assert format_condition(condition) == f"x = {text}"
    assert type(parse_condition(f"x = {text}").value) is type(value)


def test_non_finite_decimal_rejected() -> None:
    with pytest.raises(ValueError, match="only finite numbers"):
        format_condition(Comparison("x", "eq", Decimal("NaN")))


# --- strings and names ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Hà Nội", '"Hà Nội"'),
        ('say "hi"', r'"say \"hi\""'),
        ("C:\\path", r'"C:\\path"'),
        ("a\nb\tc\rd", r'"a\nb\tc\rd"'),
        ("bell\x07", r'"bell\u0007"'),
        ("\u202eevil", r'"\u202eevil"'),
        ("zero\u200bwidth", r'"zero\u200bwidth"'),
        ("emoji 😀", '"emoji 😀"'),
        ("it's # fine", '"it\'s # fine"'),
        ("back`tick", '"back`tick"'),
    ],
)
def test_string_minimal_escapes(value: str, text: str) -> None:
    assert format_condition(Comparison("x", "eq", value)) == f"x = {text}"
    assert parse_condition(f"x = {text}").value == value


@pytest.mark.parametrize(
    ("field", "text"),
    [
        ("city", "city"),
        ("thành_phố", "thành_phố"),
        ("All", "All"),
        ("all", "`all`"),
        ("days", "`days`"),
        ("first name", "`first name`"),
        ("1st", "`1st`"),
        ("a`b", "`a\\`b`"),
        ("tab\there", "`tab\\there`"),
    ],
)
def test_field_name_quoting(field: str, text: str) -> None:
    assert format_condition(Comparison(field, "is_set")) == f"{text} is set"


def test_keyword_names_quoted_everywhere() -> None:
    event = EventCondition("in", "sum", "gt", 1, measure="count")

    assert format_condition(SegmentRef("none")) == "in segment `none`"
    assert format_condition(event) == "sum(`in`.`count`) > 1"
    assert format_segment(Segment("all", "All", SegmentRef("x"))) == 'segment `all` "All"\nin segment x\n'


# --- dates and times -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (date(2024, 2, 29), "2024-02-29"),
        (date(999, 1, 2), "0999-01-02"),
        (datetime(2024, 2, 29, 10), "2024-02-29T10:00:00"),
        (datetime(2024, 2, 29, 10, 0, 0, 250_000), "2024-02-29T10:00:00.25"),
        (datetime(2024, 2, 29, 10, 0, 0, 1), "2024-02-29T10:00:00.000001"),
        (datetime(2024, 2, 29, 10, tzinfo=UTC), "2024-02-29T10:00:00Z"),
        (datetime(2024, 2, 29, 10, tzinfo=timezone(timedelta(hours=7))), "2024-02-29T10:00:00+07:00"),
        (datetime(2024, 2, 29, 10, tzinfo=timezone(-timedelta(hours=3, minutes=30))), "2024-02-29T10:00:00-03:30"),
        (datetime(2024, 2, 29, 10, tzinfo=timezone(timedelta(seconds=25_230))), "2024-02-29T10:00:00+07:00:30"),
    ],
)
def test_date_and_time_format(value: date, text: str) -> None:
    assert format_condition(Comparison("x", "on", value)) == f"x on {text}"
    assert parse_condition(f"x on {text}").value == value


def test_duration_singular_and_plural() -> None:
    assert format_condition(Comparison("x", "in_last", Duration(1, "hours"))) == "x in last 1 hour"
    assert format_condition(Comparison("x", "in_last", Duration(0, "weeks"))) == "x in last 0 weeks"
    assert format_condition(Comparison("x", "in_last", Duration(10_000, "minutes"))) == "x in last 10_000 minutes"


# --- groups --------------------------------------------------------------------------------


def test_group_layout() -> None:
    group = Group(
        "all",
        (
            Comparison("a", "eq", 1),
            Group("any", (Comparison("b", "eq", 2), Comparison("c", "eq", 3))),
            Group("none", (Comparison("d", "eq", 4),)),
            Group("all", (Group("any", (Comparison("e", "eq", 5),)),), negated=True),
            Group("any", ()),
        ),
    )

    assert format_condition(group) == (
        "all {\n"
        "  a = 1\n"
        "  any {\n"
        "    b = 2\n"
        "    c = 3\n"
        "  }\n"
        "  none { d = 4 }\n"
        "  not all {\n"
        "    any { e = 5 }\n"
        "  }\n"
        "  any {}\n"
        "}"
    )


def test_segments_separated_by_blank_line() -> None:
    first = Segment("a", "A", SegmentRef("x"), description="Một")
    second = Segment("b", "B", SegmentRef("y", negated=True))

    assert format_segments([first, second]) == (
        'segment a "A"\ndescription "Một"\nin segment x\n\nsegment b "B"\nnot in segment y\n'
    )
    assert format_segments([]) == ""


# --- birthdays and operators by name -------------------------------------------------------


def test_birthday_field_quoted_only_before_in_next() -> None:
    in_next = Comparison("birthday", "in_next", Duration(30, "days"))
    equal = Comparison("birthday", "eq", date(1990, 2, 28))

    assert format_condition(in_next) == "`birthday` in next 30 days"
    assert format_condition(equal) == "birthday = 1990-02-28"
    assert parse_condition(format_condition(in_next)) == in_next


def test_birthday_test_of_other_field() -> None:
    assert format_condition(Comparison("wedding_day", "birthday_today")) == "birthday(wedding_day) today"
    assert format_condition(Comparison("all", "birthday_in_month", 6)) == "birthday(`all`) in month 6"


@pytest.mark.parametrize(
    ("node", "text"),
    [
        (Comparison("x", "eq", Duration(7, "days")), "x @eq 7 days"),
        (Comparison("x", "is_set", 1), "x @is_set 1"),
        (Comparison("x", "between", (1, 2, 3)), "x @between [1, 2, 3]"),
        (Comparison("x", "in", "a"), 'x @in "a"'),
        (Comparison("x", "in_last", CalendarPeriod("today")), "x @in_last today"),
        (Comparison("x", "birthday_today", None, include=("1",)), "x[1] @birthday_today"),
        (
            Comparison("birthday", "birthday_in_next", 3, options=TextOptions(True)),
            "birthday @birthday_in_next 3 ignoring case",
        ),
        (Comparison("birthday", "birthday_in_month", "June"), 'birthday @birthday_in_month "June"'),
        (Comparison("x", "within_radius", (Decimal("10.5"), "km")), 'x @within_radius [10.5, "km"]'),
        (EventCondition("view", "count", "is_set", None), "count(view) @is_set"),
        (
            EventCondition("view", "count", "contains", "x", window=Duration(1, "days")),
            'count(view) @contains "x" in last 1 day',
        ),
    ],
)
def test_unfitting_value_written_by_name(node: Any, text: str) -> None:
    assert format_condition(node) == text
    assert parse_condition(text) == node


def test_operator_name_must_be_identifier() -> None:
    with pytest.raises(ValueError, match="must be an identifier"):
        format_condition(Comparison("x", "not-an-identifier", 1))


def test_unknown_value_type_rejected() -> None:
    with pytest.raises(ValueError, match="write fractional numbers as Decimal"):
        format_condition(Comparison("x", "eq", 0.5))
