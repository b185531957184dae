"""Parsing rule DSL text into rule nodes: every operator, literal, event form and location."""

from __future__ import annotations

import logging
import re
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import lark
import pytest
from lark import Lark
from lark.lexer import PatternStr

from segmento.engine.ast import (
    Comparison,
    EventCondition,
    Group,
    Segment,
    SegmentRef,
    TextOptions,
    walk,
)
from segmento.engine.dsl.lexicon import KEYWORDS, OPERATOR_PHRASES
from segmento.engine.dsl.parser import (
    GRAMMAR_PATH,
    dsl_parser,
    parse_condition,
    parse_segment,
    parse_segments,
)
from segmento.engine.dsl.transformer import RuleBuilder
from segmento.engine.errors import RuleSyntaxError
from segmento.engine.operators import BUILTIN_OPERATORS
from segmento.engine.values import CalendarPeriod, Duration

CASE = TextOptions(ignore_case=True)
ACCENTS = TextOptions(ignore_accents=True)
CASE_ACCENTS = TextOptions(ignore_case=True, ignore_accents=True)

# Canonical text and the node it stands for; the formatter tests print the nodes back.
SPELLING_CASES: list[tuple[str, Any]] = [
    ('city = "Hà Nội"', Comparison("city", "eq", "Hà Nội")),
    ('city != "Hà Nội"', Comparison("city", "ne", "Hà Nội")),
    ("age > 18", Comparison("age", "gt", 18)),
    ("total_purchase_value >= 5_000_000", Comparison("total_purchase_value", "gte", 5_000_000)),
    ("age < 65", Comparison("age", "lt", 65)),
    ("avg_basket_size <= 2.5", Comparison("avg_basket_size", "lte", Decimal("2.5"))),
    ("age between 18 and 30", Comparison("age", "between", (18, 30))),
    ("age not between 18 and 30", Comparison("age", "not_between", (18, 30))),
    ('city in ["Hà Nội", "Huế"]', Comparison("city", "in", ("Hà Nội", "Huế"))),
    ('city not in ["Hà Nội", "Huế"]', Comparison("city", "not_in", ("Hà Nội", "Huế"))),
    ("city is set", Comparison("city", "is_set")),
    ("city is not set", Comparison("city", "is_not_set")),
    ('name contains "Nguyễn"', Comparison("name", "contains", "Nguyễn")),
    ('name not contains "test"', Comparison("name", "not_contains", "test")),
    ('name starts with "Ng"', Comparison("name", "starts_with", "Ng")),
    ('name ends with "Anh"', Comparison("name", "ends_with", "Anh")),
    (
        'long_term_interests contains any ["giày", "túi xách"]',
        Comparison("long_term_interests", "contains_any", ("giày", "túi xách")),
    ),
    ('long_term_interests contains all ["giày"]', Comparison("long_term_interests", "contains_all", ("giày",))),
    ('long_term_interests contains none ["giày"]', Comparison("long_term_interests", "contains_none", ("giày",))),
    ("short_term_interests is empty", Comparison("short_term_interests", "is_empty")),
    ("short_term_interests is not empty", Comparison("short_term_interests", "is_not_empty")),
    ("signed_up_at before 2024-01-01", Comparison("signed_up_at", "before", date(2024, 1, 1))),
    ("signed_up_at after 2024-01-01T08:30:00", Comparison("signed_up_at", "after", datetime(2024, 1, 1, 8, 30))),
    ("last_purchase_at on 2024-02-29", Comparison("last_purchase_at", "on", date(2024, 2, 29))),
    ("last_purchase_at in last 7 days", Comparison("last_purchase_at", "in_last", Duration(7, "days"))),
    ("last_purchase_at not in last 2 weeks", Comparison("last_purchase_at", "not_in_last", Duration(2, "weeks"))),
    ("next_visit_at in next 3 hours", Comparison("next_visit_at", "in_next", Duration(3, "hours"))),
    ("last_purchase_at in this month", Comparison("last_purchase_at", "in_period", CalendarPeriod("this_month"))),
    (
        "last_purchase_at not in last month",
        Comparison("last_purchase_at", "not_in_period", CalendarPeriod("last_month")),
    ),
    ("birthday in next 30 days", Comparison("birthday", "birthday_in_next", 30)),
    ("birthday in next 1 day", Comparison("birthday", "birthday_in_next", 1)),
    ("birthday today", Comparison("birthday", "birthday_today")),
    ("birthday in month 12", Comparison("birthday", "birthday_in_month", 12)),
    ('city = "ha noi" ignoring case', Comparison("city", "eq", "ha noi", options=CASE)),
    ('city = "Ha Noi" ignoring accents', Comparison("city", "eq", "Ha Noi", options=ACCENTS)),
    ('city = "ha noi" ignoring case, accents', Comparison("city", "eq", "ha noi", options=CASE_ACCENTS)),
    ("product_views[1234, 5678] >= 3", Comparison("product_views", "gte", 3, include=("1234", "5678"))),
    ('long_term_interests["giày"] > 0.5', Comparison("long_term_interests", "gt", Decimal("0.5"), include=("giày",))),
    ('email @matches_domain "gmail.com"', Comparison("email", "matches_domain", "gmail.com")),
    ("loyalty @is_gold", Comparison("loyalty", "is_gold")),
    ("count(add_to_cart) >= 1", EventCondition("add_to_cart", "count", "gte", 1)),
    (
        "count(add_to_cart) >= 1 in last 7 days",
        EventCondition("add_to_cart", "count", "gte", 1, window=Duration(7, "days")),
    ),
    (
        "count(purchase) = 0 in this week",
        EventCondition("purchase", "count", "eq", 0, window=CalendarPeriod("this_week")),
    ),
    ("sum(purchase.value) > 1_000_000", EventCondition("purchase", "sum", "gt", 1_000_000, measure="value")),
    (
        "count(product_view of products [1, 2]) >= 3",
        EventCondition("product_view", "count", "gte", 3, products=("1", "2")),
    ),
    (
        'count(product_view of categories ["shoes"]) between 1 and 5 in last 30 days',
        EventCondition("product_view", "count", "between", (1, 5), categories=("shoes",), window=Duration(30, "days")),
    ),
    (
        'sum(purchase.quantity of products [7] and categories ["toys"]) < 10 in today',
        EventCondition(
            "purchase",
            "sum",
            "lt",
            10,
            measure="quantity",
            products=("7",),
            categories=("toys",),
            window=CalendarPeriod("today"),
        ),  # fmt: skip
    ),
    ("in segment vip_hanoi", SegmentRef("vip_hanoi")),
    ("not in segment blocked_customers", SegmentRef("blocked_customers", negated=True)),
]

DESIGN_EXAMPLE = """\
segment vip_hanoi "Khách VIP Hà Nội"
description "Đã chi trên 5 triệu và sống ở Hà Nội"
all {
  total_purchase_value >= 5_000_000
  city = "ha noi" ignoring case, accents
  any {
    long_term_interests contains any ["giày", "túi xách"]
    product_views[1234, 5678] >= 3
  }
  none { status = "lapsed" }
  count(add_to_cart) >= 1 in last 7 days
  count(purchase) = 0 in last 7 days
  birthday in next 30 days
  not in segment blocked_customers
}
"""


@pytest.mark.parametrize(("text", "expected"), SPELLING_CASES, ids=[text for text, _ in SPELLING_CASES])
def test_spelling_parses_to_node(text: str, expected: Any) -> None:
    assert parse_condition(text) == expected


def test_every_builtin_operator_has_a_spelling() -> None:
    spelled = {node.operator for _, node in SPELLING_CASES if isinstance(node, Comparison)}
    builtin = {spec.name for spec in BUILTIN_OPERATORS}
    assert builtin <= spelled
    assert builtin <= set(OPERATOR_PHRASES)


def test_design_example_parses() -> None:
    segment = parse_segment(DESIGN_EXAMPLE)

    assert segment.id == "vip_hanoi"
    assert segment.name == "Khách VIP Hà Nội"
    assert segment.description == "Đã chi trên 5 triệu và sống ở Hà Nội"
    assert isinstance(segment.condition, Group)
    assert segment.condition.kind == "all"
    assert len(segment.condition.conditions) == 8
    assert segment.condition.conditions[3] == Group("none", (Comparison("status", "eq", "lapsed"),))
    assert segment.condition.conditions[6] == Comparison("birthday", "birthday_in_next", 30)


# --- literals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ('"plain"', "plain"),
        ('""', ""),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"C:\\path"', "C:\\path"),
        (r'"a\nb\tc\rd"', "a\nb\tc\rd"),
        (r'"\u0110\u00e0 N\u1eb5ng"', "Đà Nẵng"),
        (r'"\U0001F600"', "\U0001f600"),
        ('"giày # not a comment"', "giày # not a comment"),
        ("0", 0),
        ("42", 42),
        ("-7", -7),
        ("5_000_000", 5_000_000),
        ("-10_000", -10_000),
        ("0.1", Decimal("0.1")),
        ("-2.50", Decimal("-2.50")),
        ("1_000.25", Decimal("1000.25")),
        ("true", True),
        ("false", False),
        ("2024-02-29", date(2024, 2, 29)),
        ("2024-02-29T10:00:00", datetime(2024, 2, 29, 10)),
        ("2024-02-29T10:00", datetime(2024, 2, 29, 10)),
        ("2024-02-29T10:00:00.25", datetime(2024, 2, 29, 10, 0, 0, 250_000)),
        ("2024-02-29T10:00:00Z", datetime(2024, 2, 29, 10, tzinfo=UTC)),
        ("2024-02-29T10:00:00+07:00", datetime(2024, 2, 29, 10, tzinfo=timezone(timedelta(hours=7)))),
        ("2024-02-29T10:00:00-03:30", datetime(2024, 2, 29, 10, tzinfo=timezone(-timedelta(hours=3, minutes=30)))),
        ("[]", ()),
        ('[1, "a", true, 2.5]', (1, "a", True, Decimal("2.5"))),
        ("[[1, 2], [3]]", ((1, 2), (3,))),
        ("[1, 2,]", (1, 2)),
    ],
)
def test_literal_value(literal: str, expected: Any) -> None:
    value = parse_condition(f"x = {literal}").value

    assert value == expected
    assert type(value) is type(expected)


def test_offset_of_datetime_kept() -> None:
    value = parse_condition("x = 2024-02-29T10:00:00+07:00").value

    assert value.utcoffset() == timedelta(hours=7)


def test_decimal_is_never_float() -> None:
    value = parse_condition("x = 0.1").value

    assert isinstance(value, Decimal)
    assert value == Decimal("0.1")


def test_strings_normalized_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội")

    condition = parse_condition(f'city = "{decomposed}"')

    assert condition.value == "Hà Nội"
    assert unicodedata.is_normalized("NFC", condition.value)


def test_escaped_combining_mark_composes() -> None:
    assert parse_condition(r'x = "e\u0301"').value == "é"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x in last 1 minute", Duration(1, "minutes")),
        ("x in last 30 minutes", Duration(30, "minutes")),
        ("x in last 1 hour", Duration(1, "hours")),
        ("x in last 2 hours", Duration(2, "hours")),
        ("x in last 1 day", Duration(1, "days")),
        ("x in last 1 week", Duration(1, "weeks")),
        ("x in last 10_000 minutes", Duration(10_000, "minutes")),
    ],
)
def test_duration_units(text: str, expected: Duration) -> None:
    assert parse_condition(text).value == expected


@pytest.mark.parametrize(
    "period", ["today", "yesterday", "this week", "last week", "this month", "last month", "this year"]
)
def test_calendar_periods(period: str) -> None:
    condition = parse_condition(f"x in {period}")

    assert condition.value == CalendarPeriod(period.replace(" ", "_"))


def test_include_keys_are_strings() -> None:
    condition = parse_condition('product_views[0123, "A-1", 5] >= 1')

    assert condition.include == ("0123", "A-1", "5")


def test_empty_include_differs_from_none() -> None:
    assert parse_condition("x[] = 1").include == ()
    assert parse_condition("x = 1").include is None


def test_list_spans_lines() -> None:
    text = 'city in [\n  "Hà Nội",  # capital\n  "Huế",\n]'

    assert parse_condition(text) == Comparison("city", "in", ("Hà Nội", "Huế"))


# --- names ---------------------------------------------------------------------------------


def test_vietnamese_identifiers() -> None:
    condition = parse_condition('thành_phố = "Huế"')

    assert condition.field == "thành_phố"


def test_decomposed_identifier_normalized() -> None:
    decomposed = unicodedata.normalize("NFD", "thành_phố")

    assert parse_condition(f"{decomposed} is set").field == "thành_phố"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("`all` = 1", "all"),
        ("`count` = 1", "count"),
        ("`first name` is set", "first name"),
        ("`a\\`b` is set", "a`b"),
        ("`tên-khách` is set", "tên-khách"),
    ],
)
def test_quoted_field_names(text: str, field: str) -> None:
    assert parse_condition(text).field == field


def test_quoted_segment_and_event_names() -> None:
    assert parse_condition("in segment `none`") == SegmentRef("none")
    assert parse_condition("count(`day`) > 1") == EventCondition("day", "count", "gt", 1)
    assert parse_segment('segment `all` "All"\nx is set').id == "all"


def test_bare_birthday_field_takes_ordinary_tests() -> None:
    assert parse_condition("birthday = 1990-02-28") == Comparison("birthday", "eq", date(1990, 2, 28))
    assert parse_condition("birthday is set") == Comparison("birthday", "is_set")
    assert parse_condition("birthday in last 7 days") == Comparison("birthday", "in_last", Duration(7, "days"))
    assert parse_condition("birthday in today") == Comparison("birthday", "in_period", CalendarPeriod("today"))


def test_quoted_birthday_before_in_next_is_date_test() -> None:
    condition = parse_condition("`birthday` in next 30 days")

    assert condition == Comparison("birthday", "in_next", Duration(30, "days"))


def test_birthday_test_of_other_field() -> None:
    assert parse_condition("birthday(wedding_day) today") == Comparison("wedding_day", "birthday_today")
    assert parse_condition("birthday(wedding_day) in next 7 days") == Comparison("wedding_day", "birthday_in_next", 7)
    assert parse_condition("birthday(wedding_day) in month 6") == Comparison("wedding_day", "birthday_in_month", 6)


def test_operator_by_name_takes_any_operand() -> None:
    assert parse_condition("x @near [1, 2]").value == (1, 2)
    assert parse_condition("x @every 2 weeks").value == Duration(2, "weeks")
    assert parse_condition("x @during last week").value == CalendarPeriod("last_week")
    assert parse_condition("`in` @eq 1") == Comparison("in", "eq", 1)


def test_operator_by_name_with_options() -> None:
    condition = parse_condition('email @matches "GMAIL" ignoring case')

    assert condition.options == CASE


# --- groups, segments and files ------------------------------------------------------------


def test_negated_groups() -> None:
    assert parse_condition("not all { x = 1 }") == Group("all", (Comparison("x", "eq", 1),), negated=True)
    assert parse_condition("not any {\n  x = 1\n  y = 2\n}").negated is True
    assert parse_condition("not none {}") == Group("none", (), negated=True)


def test_empty_group() -> None:
    assert parse_condition("all {}") == Group("all", ())
    assert parse_condition("any {\n}") == Group("any", ())


def test_nested_groups_with_blank_lines_and_comments() -> None:
    text = """\
all {
  # who lives in the north

  city = "Hà Nội"  # the capital
  any {
    x = 1

    y = 2
  }
}
"""
    condition = parse_condition(text)

    assert condition == Group(
        "all",
        (
            Comparison("city", "eq", "Hà Nội"),
            Group("any", (Comparison("x", "eq", 1), Comparison("y", "eq", 2))),
        ),
    )


def test_segment_with_single_leaf() -> None:
    segment = parse_segment('segment active "Đang hoạt động"\nstatus = "active"\n')

    assert segment == Segment("active", "Đang hoạt động", Comparison("status", "eq", "active"))


def test_description_is_optional() -> None:
    assert parse_segment('segment a "A"\nx is set').description == ""


def test_several_segments_in_one_file() -> None:
    text = '# rules\n\nsegment a "A"\nx is set\n\n\nsegment b "B"\ndescription "Bé"\nall {\n  y is set\n}\n'

    first, second = parse_segments(text)

    assert first.id == "a"
    assert second.id == "b"
    assert second.description == "Bé"


def test_empty_file_has_no_segments() -> None:
    assert parse_segments("") == []
    assert parse_segments("# nothing yet\n\n") == []


def test_crlf_and_byte_order_mark() -> None:
    text = '\ufeffsegment a "A"\r\nall {\r\n  x = 1\r\n}\r\n'

    segment = parse_segment(text)

    assert segment.condition == Group("all", (Comparison("x", "eq", 1),))
    assert segment.loc.column == 1


def test_parse_segment_needs_exactly_one() -> None:
    with pytest.raises(RuleSyntaxError) as none_found:
        parse_segment("# empty\n")
    with pytest.raises(RuleSyntaxError) as two_found:
        parse_segment('segment a "A"\nx is set\nsegment b "B"\ny is set\n', source="two.seg")

    assert none_found.value.code == "segment_count"
    assert two_found.value.code == "segment_count"
    assert two_found.value.location.line == 3
    assert two_found.value.location.source == "two.seg"


# --- locations -----------------------------------------------------------------------------


def test_nodes_carry_line_and_column() -> None:
    segment = parse_segment(DESIGN_EXAMPLE, source="rules/vip.seg")
    group = segment.condition
    assert isinstance(group, Group)
    inner_any = group.conditions[2]
    assert isinstance(inner_any, Group)

    assert (segment.loc.line, segment.loc.column) == (1, 1)
    assert (group.loc.line, group.loc.column) == (3, 1)
    assert (group.conditions[0].loc.line, group.conditions[0].loc.column) == (4, 3)
    assert (inner_any.conditions[1].loc.line, inner_any.conditions[1].loc.column) == (8, 5)
    assert (group.conditions[3].loc.line, group.conditions[3].loc.column) == (10, 3)
    assert (group.conditions[7].loc.line, group.conditions[7].loc.column) == (14, 3)


def test_every_node_has_a_source_location() -> None:
    segment = parse_segment(DESIGN_EXAMPLE, source="rules/vip.seg")

    for node in walk(segment):
        assert node.loc.source == "rules/vip.seg"
        assert node.loc.line is not None
        assert node.loc.column is not None


# --- the grammar itself --------------------------------------------------------------------


def test_parser_is_built_once() -> None:
    assert dsl_parser() is dsl_parser()


def test_grammar_has_no_conflicts(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger=lark.logger.name):
        Lark(
            GRAMMAR_PATH.read_text(encoding="utf-8"),
            parser="lalr",
            lexer="basic",
            start=["start", "condition_only"],
            debug=True,
        )

    conflicts = [record.getMessage() for record in caplog.records if "conflict" in record.getMessage().lower()]
    assert conflicts == []


def test_keywords_match_grammar() -> None:
    words = {
        terminal.pattern.value
        for terminal in dsl_parser().terminals
        if isinstance(terminal.pattern, PatternStr) and re.fullmatch(r"[a-z]+", terminal.pattern.value)
    }

    assert words == KEYWORDS


def test_every_grammar_rule_has_a_method() -> None:
    rules = {str(rule.origin.name) for rule in dsl_parser().rules}
    # Rules inlined with `?` and Lark's helper rules never reach the transformer.
    inlined = {
        name for name in rules if name.startswith("_") or f"?{name}:" in GRAMMAR_PATH.read_text(encoding="utf-8")
    }

    missing = sorted(name for name in rules - inlined if not callable(getattr(RuleBuilder, name, None)))

    assert missing == []
