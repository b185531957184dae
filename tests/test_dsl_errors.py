"""Syntax errors of the rule DSL: code, line, column, message and hint for the usual mistakes."""

from __future__ import annotations

from typing import NamedTuple

import pytest

from segmento.engine.dsl.parser import parse_condition, parse_segment, parse_segments
from segmento.engine.errors import RuleError, RuleSyntaxError


class ErrorCase(NamedTuple):
    text: str
    code: str
    line: int
    column: int
    message: str
    hint: str = ""


CONDITION_ERRORS = [
    ErrorCase('city = "Hà Nội', "unclosed_string", 1, 8, "unclosed string", 'closing "'),
    ErrorCase('all {\n  city = "Hà Nội\n}', "unclosed_string", 2, 10, "unclosed string"),
    ErrorCase("`first name = 1", "unclosed_name", 1, 1, "unclosed quoted name"),
    ErrorCase("city >=", "missing_value", 1, 8, "missing value after `>=`"),
    ErrorCase("all {\n  city >= \n}", "missing_value", 2, 10, "missing value after `>=`"),
    ErrorCase("x between 1 and", "missing_value", 1, 16, "missing value after `and`"),
    ErrorCase("name not contains\n", "missing_value", 1, 18, "missing value after `not contains`"),
    ErrorCase("x in last", "missing_value", 1, 10, "missing number after `in last`", "7 days"),
    ErrorCase("city = Hanoi", "invalid_value", 1, 8, "`Hanoi` is not a value", '"Hanoi"'),
    ErrorCase('city equals "x"', "unknown_operator", 1, 6, "unknown operator `equals`", "`=`"),
    ErrorCase('city contain "x"', "unknown_operator", 1, 6, "unknown operator `contain`", "`contains`"),
    ErrorCase('city == "x"', "unknown_operator", 1, 6, "unknown operator `==`", "`=`"),
    ErrorCase("age => 18", "unknown_operator", 1, 5, "unknown operator `=>`", "`>=`"),
    ErrorCase("age <> 18", "unknown_operator", 1, 5, "unknown operator `<>`", "`!=`"),
    ErrorCase("city is null", "unknown_operator", 1, 6, "unknown operator `is null`", "`is not set`"),
    ErrorCase('name starts wit "N"', "unknown_operator", 1, 6, "unknown operator `starts wit`", "`starts with`"),
    ErrorCase("count(a) >= 1 in lst 7 days", "unknown_operator", 1, 15, "unknown operator `in lst`", "`in last`"),
    ErrorCase('city "Hà Nội"', "missing_operator", 1, 5, "missing operator after name `city`"),
    ErrorCase("city", "missing_operator", 1, 5, "missing operator after name `city`"),
    ErrorCase('name starts "N"', "missing_word", 1, 12, "missing `with` after keyword `starts`"),
    ErrorCase("x between 1 5", "missing_word", 1, 12, "missing `and` after `1`"),
    ErrorCase("all {\n  x = 1\n", "unclosed_brace", 1, 5, "`{` is never closed", "`}`"),
    ErrorCase("all {\n  any {\n    x = 1\n  }\n", "unclosed_brace", 1, 5, "`{` is never closed"),
    ErrorCase('x in ["a", "b"\n', "unclosed_bracket", 1, 6, "`[` is never closed", "`]`"),
    ErrorCase('all {\n  x in ["a"\n  y = 2\n}', "unclosed_bracket", 2, 8, "`[` is never closed"),
    ErrorCase("count(add_to_cart >= 1", "unclosed_bracket", 1, 6, "`(` is never closed", "`)`"),
    ErrorCase("x = 1 }", "unmatched_bracket", 1, 7, "`}` has no matching `{`"),
    ErrorCase("in segment all", "keyword_as_name", 1, 12, "`all` is a keyword", "`all`"),
    ErrorCase("count = 5", "keyword_as_name", 1, 1, "`count` is a keyword", "`count`"),
    ErrorCase("days > 3", "keyword_as_name", 1, 1, "`days` is a keyword", "`days`"),
    ErrorCase("count(day) > 3", "keyword_as_name", 1, 7, "`day` is a keyword"),
    ErrorCase("x = 5 $", "stray_character", 1, 7, "unexpected character `$`"),
    ErrorCase("city = 'Huế'", "stray_character", 1, 8, "unexpected character `'`", "double quotes"),
    ErrorCase("x =\u00a05", "stray_character", 1, 4, "U+00A0 NO-BREAK SPACE", "plain space"),
    ErrorCase("x @ 5", "stray_character", 1, 3, "unexpected character `@`", "operator name"),
    ErrorCase("al { x = 1 }", "unknown_group", 1, 1, "unknown group `al`", "`all`"),
    ErrorCase("x = 1 ignoring cases", "unknown_word", 1, 16, "unexpected word `cases`", "`case`"),
    ErrorCase("count(a) >= 1 in last 7", "missing_unit", 1, 24, "missing unit after 7", "days"),
    ErrorCase("count(a) >= 1 in last 7 months", "unknown_unit", 1, 25, "unknown unit `months`"),
    ErrorCase("in segment", "missing_name", 1, 11, "missing name after `segment`"),
    ErrorCase("`` = 1", "empty_name", 1, 1, "empty name"),
    ErrorCase("x = 2024-02-30", "invalid_date", 1, 5, "2024-02-30 is not a valid date"),
    ErrorCase("x = 2024-02-29T25:00:00", "invalid_datetime", 1, 5, "is not a valid date and time"),
    ErrorCase('x = "a\\qb"', "invalid_escape", 1, 7, "invalid escape \\q"),
    ErrorCase('x = "\\u12"', "invalid_escape", 1, 6, "invalid Unicode escape"),
    ErrorCase('x = "\\ud800"', "invalid_escape", 1, 6, "not a Unicode character"),
    ErrorCase("x[-1] = 3", "invalid_key", 1, 3, "-1 is not a valid key", '"-1"'),
    ErrorCase("x[1_000] = 3", "invalid_key", 1, 3, "1_000 is not a valid key"),
    ErrorCase('x = "a" ignoring case, case', "duplicate_option", 1, 24, "`case` is given twice"),
    ErrorCase("birthday in next 2 weeks", "birthday_days", 1, 18, "counts days, not weeks"),
    ErrorCase("x = 1 y = 2", "same_line", 1, 7, "a new condition starts on the same line"),
    ErrorCase("all { x = 1 y = 2 }", "same_line", 1, 13, "a new condition starts on the same line"),
    ErrorCase("x = 1 in last 7 days", "window_not_allowed", 1, 7, "a time window applies only to events"),
    ErrorCase("x = 1 2", "unexpected_token", 1, 7, "unexpected `2`", "Expected `ignoring`, a line break"),
    ErrorCase("x = 1 ignoring", "unexpected_token", 1, 15, "unexpected end of the text", "Expected `accents`, `case`"),
    ErrorCase("count(a) contains 1", "operator_not_allowed", 1, 10, "`contains` cannot compare an event count", ">="),
    ErrorCase("count(a) is not set", "operator_not_allowed", 1, 10, "operator `is not set` cannot compare"),
]

NUMBER_ERRORS = [
    ErrorCase("x >= 1e3", "invalid_number", 1, 6, "`1e3` is not a valid number: the rule language has no", "1000"),
    ErrorCase("x >= 1.5e6", "invalid_number", 1, 6, "no exponent notation", "Write 1_500_000"),
    ErrorCase("x >= 2E-3", "invalid_number", 1, 6, "`2E-3` is not a valid number", "Write 0.002"),
    ErrorCase("x >= 1e+3", "invalid_number", 1, 6, "`1e+3` is not a valid number", "Write 1000"),
    ErrorCase("x >= 5.000.000", "invalid_number", 1, 6, "`.` is the decimal point", "Write 5_000_000 or 5000000"),
    ErrorCase("x >= -5.000.000", "invalid_number", 1, 6, "`-5.000.000` is not", "Write -5_000_000 or -5000000"),
    ErrorCase("x >= 5,000,000", "invalid_number", 1, 6, "`,` cannot separate thousands", "Write 5_000_000 or 5000000"),
    ErrorCase("x >= 5 000 000", "invalid_number", 1, 6, "a space cannot separate thousands", "Write 5_000_000"),
    ErrorCase("x >= 5\u00a0000", "invalid_number", 1, 6, "a space cannot separate thousands", "Write 5_000 or 5000"),
    ErrorCase("x >= 5.000,50", "invalid_number", 1, 6, "`.` before the fraction", "Write 5000.50"),
    ErrorCase("x >= 1,5", "invalid_number", 1, 6, "the decimal point is `.`, not `,`", "Write 1.5"),
    ErrorCase("x >= .5", "invalid_number", 1, 6, "a digit must come before the decimal point", "Write 0.5"),
    ErrorCase("x >= 5.", "invalid_number", 1, 6, "a digit must follow the decimal point", "Write 5 or 5.0"),
    ErrorCase("x >= +5", "invalid_number", 1, 6, "a number has no `+` sign", "Write 5"),
    ErrorCase("x >= 1_000_", "invalid_number", 1, 6, "`_` may only stand between two digits", "Write 1000"),
    ErrorCase("x >= 5tr", "invalid_number", 1, 6, "a number has only digits", "5_000_000"),
    ErrorCase("all {\n  x >= 5.000.000\n}", "invalid_number", 2, 8, "`5.000.000` is not a valid number"),
    ErrorCase("x in [1.000.000, 2]", "invalid_number", 1, 7, "`1.000.000` is not a valid number"),
    ErrorCase("x between 1,000 and 2", "invalid_number", 1, 11, "`1,000` is not a valid number", "Write 1_000"),
    ErrorCase("count(a) >= 1e3 in last 7 days", "invalid_number", 1, 13, "`1e3` is not a valid number"),
    ErrorCase("x in [5,000,000]", "invalid_number", 1, 9, "`000` is not a valid number: it starts with 0", "5_000_000"),
    ErrorCase("x = 007", "invalid_number", 1, 5, "it starts with 0", 'Write 7 without the leading zero, or "007"'),
    ErrorCase("count(a) >= 1 in last 7d", "unknown_unit", 1, 24, "unknown unit `d`"),
    ErrorCase("x = 1 2", "unexpected_token", 1, 7, "unexpected `2`"),
]

SEGMENT_ERRORS = [
    ErrorCase("x = 1", "missing_header", 1, 1, "missing segment header", "segment vip"),
    ErrorCase('segment a "A"\nx = 1\ny = 2', "several_conditions", 3, 1, "second one starts here", "all { ... }"),
    ErrorCase('segment a "A"\nall {\n  x = 1\nsegment b "B"\ny = 1', "unclosed_brace", 2, 5, "`{` is never closed"),
    ErrorCase('segment all "A"\nx = 1', "keyword_as_name", 1, 9, "`all` is a keyword"),
    ErrorCase('segment a "A\nx = 1', "unclosed_string", 1, 11, "unclosed string"),
    ErrorCase("segment a\nx = 1", "missing_value", 1, 10, "missing string after name `a`", "double quotes"),
]


@pytest.mark.parametrize("case", CONDITION_ERRORS, ids=[case.text for case in CONDITION_ERRORS])
def test_condition_error(case: ErrorCase) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_condition(case.text)

    _check(raised.value, case)


@pytest.mark.parametrize("case", NUMBER_ERRORS, ids=[case.text for case in NUMBER_ERRORS])
def test_number_error(case: ErrorCase) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_condition(case.text)

    _check(raised.value, case)


@pytest.mark.parametrize("text", ["x = 0", "x = -0", "x = 0.5", "x = 10.000", "product_views[007] > 1"])
def test_number_that_reads(text: str) -> None:
    parse_condition(text)


def test_number_error_shows_caret_under_number() -> None:
    text = 'segment vip "VIP"\nall {\n  total_purchase_value >= 5.000.000\n}\n'

    with pytest.raises(RuleSyntaxError) as raised:
        parse_segment(text, source="rules/vip.seg")

    assert str(raised.value) == (
        "rules/vip.seg:3:27: `5.000.000` is not a valid number: `.` is the decimal point, so it cannot separate "
        "thousands. Write 5_000_000 or 5000000\n"
        "    total_purchase_value >= 5.000.000\n"
        "                            ^"
    )


def test_comma_grouped_list_number() -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_condition("x in [5,000,000]")

    assert raised.value.hint == (
        "`,` separates list items, so 5,000,000 reads as several numbers. Write 5_000_000 or 5000000"
    )


@pytest.mark.parametrize("case", SEGMENT_ERRORS, ids=[case.text for case in SEGMENT_ERRORS])
def test_segment_error(case: ErrorCase) -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_segments(case.text)

    _check(raised.value, case)


def _check(error: RuleSyntaxError, case: ErrorCase) -> None:
    assert error.code == case.code
    assert (error.location.line, error.location.column) == (case.line, case.column)
    assert case.message in error.message
    assert case.hint in (error.hint or "")


def test_message_shows_line_and_caret() -> None:
    text = 'segment a "A"\nall {\n  city equals "Hà Nội"\n}\n'

    with pytest.raises(RuleSyntaxError) as raised:
        parse_segment(text, source="rules/a.seg")

    assert str(raised.value) == (
        'rules/a.seg:3:8: unknown operator `equals`. Did you mean `=`?\n    city equals "Hà Nội"\n         ^'
    )


def test_caret_under_tab_indented_error() -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_condition("all {\n\tx >=\n}")

    error = raised.value
    assert error.source_line == " x >="
    assert str(error).endswith("\n   x >=\n       ^")


def test_error_serializes_for_the_api() -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        parse_condition('city contain "x"', source="editor")

    data = raised.value.to_dict()

    assert data["code"] == "unknown_operator"
    assert data["line"] == 1
    assert data["column"] == 6
    assert data["source"] == "editor"
    assert data["params"] == {"word": "contain"}
    assert data["hint"] == "Did you mean `contains`?"


def test_syntax_error_is_a_rule_error() -> None:
    with pytest.raises(RuleError):
        parse_condition("x =")
    with pytest.raises(ValueError):
        parse_condition("x =")
