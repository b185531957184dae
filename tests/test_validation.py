"""Semantic validation of rules against the field catalog, operators and limits."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from segmento.engine.ast import (
    Comparison,
    Condition,
    EventCondition,
    Group,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.dsl.parser import parse_segment
from segmento.engine.errors import Location, RuleErrors, RuleSemanticError
from segmento.engine.jsonform import load_segment, load_segments
from segmento.engine.registry import get_registry
from segmento.engine.validation import Limits, segment_problems, validate_segment, validate_segments
from segmento.engine.values import CalendarPeriod, Duration


def json_segment(condition: dict[str, Any], segment_id: str = "test_segment") -> Segment:
    return load_segment({"id": segment_id, "name": "Test", "condition": condition})


def problems_of(condition: dict[str, Any]) -> list[RuleSemanticError]:
    """Return the problems that validating a one-condition segment raises."""
    with pytest.raises(RuleErrors) as raised:
        validate_segment(json_segment(condition))
    return raised.value.errors  # type: ignore[return-value]


def ast_problems(condition: Condition) -> list[RuleSemanticError]:
    """Return the problems of a condition built in code, as the DSL parser builds it."""
    return segment_problems(Segment("test_segment", "Test", condition))


def test_valid_rule_passes() -> None:
    segment = json_segment(
        {
            "all": [
                {"field": "total_purchase_value", "operator": "gte", "type": "integer", "value": 5000000},
                {"field": "avg_purchase_value", "operator": "between", "type": "number", "value": [10.5, 99]},
                {"field": "city", "operator": "eq", "type": "string", "value": "ha noi", "ignore_case": True,
                 "ignore_accents": True},
                {"field": "long_term_interests", "operator": "contains_any", "type": "string",
                 "value": ["giày", "túi xách"], "ignore_case": True},
                {"field": "product_views", "include": ["1234", "5678"], "operator": "gte", "type": "integer",
                 "value": 3},
                {"field": "short_term_interests", "include": ["toys"], "operator": "lte", "type": "integer",
                 "value": 2},
                {"field": "status", "operator": "in", "type": "string", "value": ["new", "ACTIVE"],
                 "ignore_case": True},
                {"field": "gender", "operator": "starts_with", "type": "string", "value": "fe"},
                {"field": "age", "operator": "between", "type": "integer", "value": [18, 30]},
                {"field": "birthday", "operator": "birthday_in_next", "type": "integer", "value": 30},
                {"field": "birthday", "operator": "birthday_in_month", "type": "integer", "value": 2},
                {"field": "birthday", "operator": "birthday_today"},
                {"field": "last_purchase_at", "operator": "before", "type": "date", "value": "2024-01-01"},
                {"field": "last_purchase_at", "operator": "on", "type": "date", "value": "2024-01-01"},
                {"field": "signed_up_at", "operator": "in_last", "type": "duration", "value": "30 days"},
                {"field": "signed_up_at", "operator": "not_in_period", "type": "period", "value": "this_year"},
                {"field": "city", "operator": "is_not_set"},
                {"event": "add_to_cart", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1,
                 "in_last": "7 days"},
                {"event": "purchase", "aggregate": "sum", "measure": "value", "operator": "between",
                 "type": "number", "value": [0, 1000000.50], "include": {"categories": ["shoes"]},
                 "in_period": "this_month"},
                {"segment": "blocked_customers", "not": True},
            ]
        }
    )

    assert validate_segment(segment) is None
    assert segment_problems(segment) == []


FIELD_CASES = [
    pytest.param(
        {"field": "total_purchse", "operator": "gte", "type": "integer", "value": 1},
        "unknown_field", "/condition/field", 'Did you mean "total_purchase"?',
        id="unknown field",
    ),
    pytest.param(
        {"field": "total_purchase", "operator": "gtee", "type": "integer", "value": 1},
        "unknown_operator", "/condition/operator", 'Did you mean "gte"?',
        id="unknown operator",
    ),
    pytest.param(
        {"field": "total_purchase", "operator": ">=", "type": "integer", "value": 1},
        "unknown_operator", "/condition/operator", 'Did you mean "gte"?',
        id="operator symbol",
    ),
    pytest.param(
        {"field": "total_purchase", "operator": "contains", "type": "string", "value": "1"},
        "operator_not_allowed", "/condition/operator", "between, eq, gt, gte, in, is_not_set",
        id="text operator on integer",
    ),
    pytest.param(
        {"field": "city", "operator": "gt", "type": "string", "value": "a"},
        "operator_not_allowed", "/condition/operator", "contains, ends_with, eq",
        id="order on string",
    ),
    pytest.param(
        {"field": "product_views", "operator": "gte", "type": "integer", "value": 3},
        "operator_not_allowed", "/condition/operator", "needs an include list",
        id="keyed operator without include",
    ),
    pytest.param(
        {"field": "product_views", "include": ["1"], "operator": "contains_any", "type": "string", "value": ["1"]},
        "operator_not_allowed", "/condition/operator", "takes no include list",
        id="member operator with include",
    ),
    pytest.param(
        {"field": "city", "include": ["x"], "operator": "eq", "type": "string", "value": "a"},
        "include_not_allowed", "/condition/include", "map and ranked fields",
        id="include on plain field",
    ),
    pytest.param(
        {"field": "product_views", "include": [2, "2"], "operator": "gte", "type": "integer", "value": 1},
        "duplicate_key", "/condition/include/1", 'Remove the repeated "2"',
        id="include key listed twice",
    ),
    pytest.param(
        {"field": "short_term_interests", "include": ["toys", "books", "toys"], "operator": "lte",
         "type": "integer", "value": 2},
        "duplicate_key", "/condition/include/2", "each key only once",
        id="ranked key listed twice",
    ),
    pytest.param(
        {"field": "total_purchase", "operator": "eq", "type": "string", "value": "1001"},
        "wrong_value_type", "/condition/value", "Write 1001 as a number, without quotes",
        id="number as text",
    ),
    pytest.param(
        {"field": "total_purchase", "operator": "eq", "type": "number", "value": 2.5},
        "wrong_value_type", "/condition/value", "holds whole numbers",
        id="fraction on integer field",
    ),
    pytest.param(
        {"field": "city", "operator": "eq", "type": "integer", "value": 5},
        "wrong_value_type", "/condition/value", "text such as",
        id="number on string field",
    ),
    pytest.param(
        {"field": "birthday", "operator": "eq", "type": "datetime", "value": "2024-01-01T00:00:00"},
        "wrong_value_type", "/condition/value", "a date such as 2024-01-31",
        id="datetime on date field",
    ),
    pytest.param(
        {"field": "signed_up_at", "operator": "gt", "type": "date", "value": "2024-01-01"},
        "wrong_value_type", "/condition/value", "a date and time such as",
        id="date with order operator on datetime field",
    ),
    pytest.param(
        {"field": "signed_up_at", "operator": "on", "type": "datetime", "value": "2024-01-01T10:00:00"},
        "wrong_value_type", "/condition/value", "a date such as",
        id="datetime for on",
    ),
    pytest.param(
        {"field": "age", "operator": "in", "type": "string", "value": ["30"]},
        "wrong_value_type", "/condition/value/0", "without quotes",
        id="derived field checked as its type",
    ),
    pytest.param(
        {"field": "product_views", "include": ["1"], "operator": "gte", "type": "number", "value": 2.5},
        "wrong_value_type", "/condition/value", "whole numbers",
        id="fraction on count map",
    ),
    pytest.param(
        {"field": "status", "operator": "eq", "type": "string", "value": "activ"},
        "value_not_allowed", "/condition/value", 'Did you mean "active"?',
        id="value outside allowed values",
    ),
    pytest.param(
        {"field": "status", "operator": "not_in", "type": "string", "value": ["new", "gone"]},
        "value_not_allowed", "/condition/value/1", "new, active, at_risk, lapsed",
        id="list item outside allowed values",
    ),
    pytest.param(
        {"field": "age", "operator": "eq", "type": "integer", "value": 30, "ignore_case": True},
        "text_options_not_allowed", "/condition/ignore_case", "Remove the option",
        id="text option on integer field",
    ),
    pytest.param(
        {"field": "city", "operator": "is_set", "ignore_accents": True},
        "text_options_not_allowed", "/condition/ignore_accents", "text comparisons",
        id="text option on is_set",
    ),
    pytest.param(
        {"field": "age", "operator": "between", "type": "integer", "value": [30, 18]},
        "between_bounds_reversed", "/condition/value", "lower bound first",
        id="between bounds reversed",
    ),
    pytest.param(
        {"field": "birthday", "operator": "not_between", "type": "date", "value": ["2000-12-31", "2000-01-01"]},
        "between_bounds_reversed", "/condition/value", "lower bound first",
        id="date bounds reversed",
    ),
    pytest.param(
        {"field": "city", "operator": "in", "type": "string", "value": []},
        "empty_list", "/condition/value", "Add values",
        id="empty in list",
    ),
    pytest.param(
        {"field": "age", "operator": "age_above", "type": "integer", "value": 3},
        "unknown_operator", "/condition/operator", "Operators allowed here",
        id="unknown operator without suggestion",
    ),
]


@pytest.mark.parametrize(("condition", "code", "pointer", "hint_part"), FIELD_CASES)
def test_field_problem_names_pointer_and_hint(
    condition: dict[str, Any], code: str, pointer: str, hint_part: str
) -> None:
    problems = problems_of(condition)

    assert [problem.code for problem in problems] == [code]
    assert problems[0].location.pointer == pointer
    assert problems[0].hint is not None
    assert hint_part in problems[0].hint


EVENT_CASES = [
    pytest.param(
        {"event": "add_to_krt", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1},
        "unknown_event", "/condition/event", 'Did you mean "add_to_cart"?',
        id="unknown event",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "sum", "operator": "gte", "type": "integer", "value": 1},
        "measure_required", "/condition", "value, quantity, price",
        id="sum without measure",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "measure": "price", "operator": "gte", "type": "integer",
         "value": 1},
        "measure_not_allowed", "/condition/measure", "use sum",
        id="count with measure",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "number", "value": 1.5},
        "invalid_event_value", "/condition/value", "whole number",
        id="fractional count",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "sum", "measure": "value", "operator": "between", "type": "number",
         "value": [100, 10]},
        "between_bounds_reversed", "/condition/value", "lower bound first",
        id="event bounds reversed",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1,
         "include": {"products": [42, "7", "42"]}},
        "duplicate_key", "/condition/include/products/2", "each product only once",
        id="product listed twice",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1,
         "include": {"categories": ["shoes", "shoes"], "products": ["1"]}},
        "duplicate_key", "/condition/include/categories/1", "each category only once",
        id="category listed twice",
    ),
]


@pytest.mark.parametrize(("condition", "code", "pointer", "hint_part"), EVENT_CASES)
def test_event_problem_names_pointer_and_hint(
    condition: dict[str, Any], code: str, pointer: str, hint_part: str
) -> None:
    problems = problems_of(condition)

    assert [problem.code for problem in problems] == [code]
    assert problems[0].location.pointer == pointer
    assert problems[0].hint is not None
    assert hint_part in problems[0].hint


# Problems that the JSON schema stops first, but that a rule built by the DSL or in code can have.
AST_CASES = [
    pytest.param(Comparison("signed_up_at", "in_last", Duration(0, "days")), "duration_not_positive", id="zero days"),
    pytest.param(Comparison("signed_up_at", "in_last", Duration(-3, "days")), "duration_not_positive",
                 id="negative duration"),
    pytest.param(
        Comparison("signed_up_at", "in_last", Duration(3, "months")),  # type: ignore[arg-type]
        "invalid_duration_unit",
        id="months",
    ),
    pytest.param(
        Comparison("signed_up_at", "in_period", CalendarPeriod("next_week")),  # type: ignore[arg-type]
        "unknown_period",
        id="unknown period",
    ),
    pytest.param(Comparison("birthday", "birthday_in_month", 13), "month_out_of_range", id="month 13"),
    pytest.param(Comparison("birthday", "birthday_in_month", 0), "month_out_of_range", id="month 0"),
    pytest.param(Comparison("birthday", "birthday_in_next", 367), "days_out_of_range", id="367 days"),
    pytest.param(Comparison("birthday", "birthday_in_next", -1), "days_out_of_range", id="negative days"),
    pytest.param(Comparison("product_views", "gte", 3, include=()), "empty_include", id="empty include"),
    pytest.param(Comparison("city", "eq"), "missing_value", id="missing value"),
    pytest.param(Comparison("city", "is_set", "x"), "unexpected_value", id="value for is_set"),
    pytest.param(Comparison("age", "between", 3), "wrong_value_shape", id="between with one value"),
    pytest.param(Comparison("age", "between", (1, 2, 3)), "wrong_value_shape", id="between with three values"),
    pytest.param(Comparison("city", "in", "Huế"), "wrong_value_shape", id="in with one value"),
    pytest.param(Comparison("signed_up_at", "in_last", 7), "wrong_value_shape", id="number for duration"),
    pytest.param(EventCondition("purchase", "count", "gte", -1), "invalid_event_value", id="negative count"),
    pytest.param(EventCondition("purchase", "sum", "gte", Decimal("-0.5"), measure="value"), "invalid_event_value",
                 id="negative sum"),
    pytest.param(EventCondition("purchase", "count", "gte", "3"), "invalid_event_value", id="count as text"),
    pytest.param(EventCondition("purchase", "count", "gte", True), "invalid_event_value", id="boolean count"),
    pytest.param(
        EventCondition("purchase", "average", "gte", 1),  # type: ignore[arg-type]
        "unknown_aggregate",
        id="unknown aggregate",
    ),
    pytest.param(EventCondition("purchase", "sum", "gte", 1, measure="weight"), "unknown_measure",
                 id="unknown measure"),
    pytest.param(EventCondition("purchase", "count", "contains", 1), "operator_not_allowed",
                 id="text operator on event"),
    pytest.param(EventCondition("purchase", "count", "gte", 1, products=()), "empty_include",
                 id="empty products"),
    pytest.param(Comparison("product_views", "gte", 1, include=("2", "2")), "duplicate_key",
                 id="include key listed twice"),
    pytest.param(EventCondition("purchase", "count", "gte", 1, categories=("shoes", "shoes")), "duplicate_key",
                 id="category listed twice"),
    pytest.param(EventCondition("purchase", "count", "gte", 1, window=Duration(0, "days")), "duration_not_positive",
                 id="zero window"),
    pytest.param(Group("all", ()), "empty_group", id="empty group"),
    pytest.param(
        Group("either", (SegmentRef("vip"),)),  # type: ignore[arg-type]
        "unknown_group_kind",
        id="unknown group kind",
    ),
    pytest.param(SegmentRef("vip list"), "invalid_segment_id", id="invalid reference id"),
    pytest.param(SegmentRef("test_segment"), "segment_cycle", id="reference to itself"),
]


@pytest.mark.parametrize(("condition", "code"), AST_CASES)
def test_problem_of_rule_built_in_code(condition: Condition, code: str) -> None:
    problems = ast_problems(condition)

    assert [problem.code for problem in problems] == [code]
    assert problems[0].hint


def test_dsl_position_kept_in_problem() -> None:
    position = Location(line=3, column=5, source="rules/vip.seg")
    leaf = Comparison("total_purchse", "gte", 1, loc=position)

    problems = ast_problems(Group("all", (leaf,), loc=Location(line=2, column=1, source="rules/vip.seg")))

    assert problems[0].location == position
    assert str(problems[0]).startswith("rules/vip.seg:3:5: unknown field")


def test_date_and_datetime_values_on_datetime_field() -> None:
    after_day = Comparison("last_purchase_at", "after", date(2024, 1, 1))
    after_instant = Comparison("last_purchase_at", "after", datetime(2024, 1, 1, 9, 30))
    between_instants = Comparison("last_purchase_at", "between", (datetime(2024, 1, 1), datetime(2024, 2, 1)))

    assert ast_problems(after_day) == []
    assert ast_problems(after_instant) == []
    assert ast_problems(between_instants) == []


def test_integer_value_on_decimal_field_is_valid() -> None:
    assert ast_problems(Comparison("total_purchase_value", "gte", 5_000_000)) == []
    assert ast_problems(Comparison("total_purchase_value", "in", (1, Decimal("2.5")))) == []


def test_allowed_values_compare_with_text_options() -> None:
    folded = Comparison("status", "eq", "At_Risk", options=TextOptions(ignore_case=True))
    exact = Comparison("status", "eq", "At_Risk")

    assert ast_problems(folded) == []
    assert [problem.code for problem in ast_problems(exact)] == ["value_not_allowed"]


def test_allowed_values_do_not_restrict_fragments() -> None:
    assert ast_problems(Comparison("status", "contains", "risk")) == []


def test_repeated_key_in_dsl_names_key() -> None:
    text = 'segment views "Views"\nall {\n  city is set\n  product_views[2, 3, 2, 2] >= 1\n}\n'

    problems = segment_problems(parse_segment(text, source="views.seg"))

    assert len(problems) == 1
    assert problems[0].code == "duplicate_key"
    assert problems[0].params == {"key": "2", "field": "product_views"}
    assert problems[0].location == Location(line=4, column=3, source="views.seg")
    assert str(problems[0]).startswith('views.seg:4:3: "2" is listed more than once in the include list of product_views')


def test_each_repeated_key_reported_once() -> None:
    condition = EventCondition("purchase", "count", "gte", 1, products=("1", "2", "1", "2", "1"))

    problems = ast_problems(condition)

    assert [problem.params["key"] for problem in problems] == ["1", "2"]
    assert {problem.params["list"] for problem in problems} == {"products"}


@pytest.mark.parametrize(
    "condition",
    [
        pytest.param(Comparison("city", "in", ("Huế", "Huế")), id="in"),
        pytest.param(Comparison("city", "not_in", ("Huế", "huế"), options=TextOptions(ignore_case=True)),
                     id="not_in equal when folded"),
        pytest.param(Comparison("long_term_interests", "contains_all", ("toys", "toys")), id="contains_all"),
        pytest.param(Comparison("product_views", "contains_any", ("1", "1")), id="contains_any"),
    ],
)
def test_repeated_values_in_value_list_pass(condition: Comparison) -> None:
    # A value list is a set: a repeat changes no result on any target, so it is accepted.
    assert ast_problems(condition) == []


def test_invalid_segment_id_and_empty_name() -> None:
    problems = segment_problems(Segment("vip hanoi", " ", SegmentRef("vip")))

    assert [problem.code for problem in problems] == ["invalid_segment_id", "empty_name"]


def test_problems_in_document_order() -> None:
    segment = json_segment(
        {
            "all": [
                {"field": "cty", "operator": "eq", "type": "string", "value": "a"},
                {"field": "age", "operator": "eq", "type": "string", "value": "x"},
                {"event": "purchase", "aggregate": "sum", "operator": "gte", "type": "integer", "value": 1},
            ]
        }
    )

    with pytest.raises(RuleErrors) as raised:
        validate_segment(segment)

    assert [error.code for error in raised.value.errors] == ["unknown_field", "wrong_value_type", "measure_required"]
    assert raised.value.location.pointer == "/condition/all/0/field"


# --- limits ---------------------------------------------------------------------------


def nested(depth: int) -> Condition:
    condition: Condition = SegmentRef("vip")
    for _ in range(depth):
        condition = Group("all", (condition,))
    return condition


def test_depth_at_limit_passes() -> None:
    assert segment_problems(Segment("a", "A", nested(3)), limits=Limits(max_depth=3)) == []


def test_depth_over_limit_reported_at_group() -> None:
    segment = load_segment({"id": "a", "name": "A", "condition": {"all": [{"any": [{"none": [{"all": [
        {"segment": "vip"}]}]}]}]}})

    problems = segment_problems(segment, limits=Limits(max_depth=3))

    assert [problem.code for problem in problems] == ["too_deep"]
    assert problems[0].location.pointer == "/condition/all/0/any/0/none/0"
    assert problems[0].params["max_depth"] == 3


def test_condition_count_over_limit() -> None:
    leaves = tuple(SegmentRef("vip") for _ in range(4))

    at_limit = segment_problems(Segment("a", "A", Group("any", leaves[:3])), limits=Limits(max_conditions=3))
    over_limit = segment_problems(Segment("a", "A", Group("any", leaves)), limits=Limits(max_conditions=3))

    assert at_limit == []
    assert [problem.code for problem in over_limit] == ["too_many_conditions"]
    assert over_limit[0].params == {"count": 4, "max_conditions": 3}


def test_default_limits() -> None:
    assert Limits() == Limits(max_depth=10, max_conditions=200)
    assert [problem.code for problem in segment_problems(Segment("a", "A", nested(11)))] == ["too_deep"]
    assert segment_problems(Segment("a", "A", nested(10))) == []


def test_limit_problems_come_first() -> None:
    condition = Group("all", (Comparison("cty", "is_set"), Group("all", (Group("all", (SegmentRef("vip"),)),))))

    problems = segment_problems(Segment("a", "A", condition), limits=Limits(max_depth=2))

    assert [problem.code for problem in problems] == ["too_deep", "unknown_field"]


# --- sets of segments ------------------------------------------------------------------


def test_segments_with_references_pass() -> None:
    segments = load_segments(
        [
            {"id": "vip", "name": "VIP", "condition": {"field": "total_purchase", "operator": "gte",
                                                        "type": "integer", "value": 10}},
            {"id": "vip_hanoi", "name": "VIP Hà Nội", "condition": {"all": [
                {"segment": "vip"}, {"field": "city", "operator": "eq", "type": "string", "value": "Hà Nội"}]}},
        ]
    )

    assert validate_segments(segments) is None


def test_duplicate_ids_reported_first() -> None:
    segments = load_segments(
        [
            {"id": "vip", "name": "A", "condition": {"field": "cty", "operator": "is_set"}},
            {"id": "vip", "name": "B", "condition": {"segment": "other"}},
        ]
    )

    with pytest.raises(RuleErrors) as raised:
        validate_segments(segments, known_segments={"other"})

    assert [error.code for error in raised.value.errors] == ["duplicate_segment_id", "unknown_field"]
    assert raised.value.errors[0].location.pointer == "/1"
    assert raised.value.errors[0].hint is not None
    assert "/0" in raised.value.errors[0].hint


def test_unknown_reference_suggests_known_id() -> None:
    segments = [Segment("vip", "VIP", SegmentRef("new")), Segment("new_customers", "New", SegmentRef("vp"))]

    with pytest.raises(RuleErrors) as raised:
        validate_segments(segments)

    assert [error.code for error in raised.value.errors] == ["unknown_segment", "unknown_segment"]
    assert raised.value.errors[0].value == "new"
    assert raised.value.errors[1].hint == 'Did you mean "vip"?'


def test_known_segments_satisfy_references() -> None:
    segments = [Segment("vip_hanoi", "VIP", SegmentRef("vip"))]

    assert validate_segments(segments, known_segments={"vip"}) is None
    assert validate_segments(segments, known_segments=None) is None
    with pytest.raises(RuleErrors):
        validate_segments(segments)


def test_reference_cycle_reported_at_closing_reference() -> None:
    segments = load_segments(
        [
            {"id": "a", "name": "A", "condition": {"all": [{"segment": "b"}, {"segment": "c"}]}},
            {"id": "b", "name": "B", "condition": {"segment": "c"}},
            {"id": "c", "name": "C", "condition": {"segment": "a"}},
        ]
    )

    with pytest.raises(RuleErrors) as raised:
        validate_segments(segments)

    assert [error.code for error in raised.value.errors] == ["segment_cycle"]
    assert raised.value.errors[0].params["cycle"] == ["a", "b", "c", "a"]
    assert raised.value.errors[0].message == "segments refer to each other in a cycle: a → b → c → a"
    assert raised.value.errors[0].location.pointer == "/2/condition"


def test_two_segment_cycle_and_self_reference() -> None:
    segments = [
        Segment("a", "A", SegmentRef("b")),
        Segment("b", "B", Group("any", (SegmentRef("a"), SegmentRef("b")))),
    ]

    with pytest.raises(RuleErrors) as raised:
        validate_segments(segments)

    cycles = [error.params["cycle"] for error in raised.value.errors]
    assert sorted(cycles) == [["a", "b", "a"], ["b", "b"]]


def test_catalog_file_extends_registry(tmp_path: Path) -> None:
    catalog = tmp_path / "fields.yaml"
    catalog.write_text("fields:\n  loyalty_tier: {type: string, allowed_values: [gold, silver]}\n"
                       "events: [wishlist_add]\n", encoding="utf-8")
    registry = get_registry().with_catalog_file(catalog)
    segment = Segment(
        "tiered",
        "Tiered",
        Group("all", (Comparison("loyalty_tier", "eq", "gold"), EventCondition("wishlist_add", "count", "gte", 1))),
    )

    assert validate_segment(segment, registry) is None
    assert [problem.code for problem in segment_problems(segment)] == ["unknown_field", "unknown_event"]
    bronze = Segment("bronze", "Bronze", Comparison("loyalty_tier", "eq", "bronze"))
    assert [problem.code for problem in segment_problems(bronze, registry)] == ["value_not_allowed"]


# --- operator names: as the DSL writes them for DSL rules, JSON names for JSON rules -----------


def dsl_problems(condition_text: str) -> list[RuleSemanticError]:
    """Return the problems of a one-condition segment written in the DSL."""
    return segment_problems(parse_segment(f'segment test_segment "Test"\n{condition_text}\n', source="t.seg"))


DSL_WORDING_CASES = [
    pytest.param(
        'city > "A"',
        'operator ">" is not allowed on field "city" of type string',
        "Operators allowed here: =, !=, in [...], not in [...], is set, is not set, contains, not contains, "
        "starts with, ends with",
        id="symbol",
    ),
    pytest.param(
        'city contains any ["a"]',
        'operator "contains any" is not allowed on field "city" of type string',
        "Operators allowed here: =, !=",
        id="phrase",
    ),
    pytest.param(
        "product_views >= 3",
        'operator ">=" is not allowed on field "product_views" of type count_map',
        ">= on product_views needs an include list of the keys to compare",
        id="needs include list",
    ),
    pytest.param(
        "signed_up_at in last 3 days ignoring case",
        'ignoring case does not apply to operator "in last"',
        "such as =, in [...] and contains",
        id="text option",
    ),
    pytest.param(
        "city @no_such_operator 1",
        'unknown operator "@no_such_operator"',
        "Operators allowed here: =, !=",
        id="plugin operator",
    ),
    pytest.param(
        "count(purchase) in [1, 2]",
        'operator "in [...]" does not compare an event count',
        "Operators allowed here: =, !=, >, >=, <, <=, between, not between",
        id="event",
    ),
    pytest.param(
        "signed_up_at in last 0 days",
        "a duration must be at least 1 day, not 0 days",
        "Use a positive whole number",
        id="duration of zero days",
    ),
    pytest.param(
        "count(purchase) >= 1 in last 0 hours",
        "a duration must be at least 1 hour, not 0 hours",
        "Use a positive whole number",
        id="event window of zero hours",
    ),
]


@pytest.mark.parametrize(("condition_text", "message", "hint_part"), DSL_WORDING_CASES)
def test_dsl_rule_problem_uses_dsl_words(condition_text: str, message: str, hint_part: str) -> None:
    problems = dsl_problems(condition_text)

    assert [problem.message for problem in problems] == [message]
    assert hint_part in (problems[0].hint or "")
    assert problems[0].location.line == 2


JSON_WORDING_CASES = [
    pytest.param(
        {"field": "city", "operator": "gt", "type": "string", "value": "A"},
        'operator "gt" is not allowed on field "city" of type string',
        "Operators allowed here: contains, ends_with, eq, in, is_not_set, is_set, ne, not_contains, not_in, "
        "starts_with",
        id="symbol",
    ),
    pytest.param(
        {"field": "city", "operator": "contains_any", "type": "string", "value": ["a"]},
        'operator "contains_any" is not allowed on field "city" of type string',
        "Operators allowed here: contains, ends_with, eq",
        id="phrase",
    ),
    pytest.param(
        {"field": "signed_up_at", "operator": "in_last", "type": "duration", "value": "3 days", "ignore_case": True},
        'ignore_case does not apply to operator "in_last"',
        "such as eq, in and contains",
        id="text option",
    ),
]


@pytest.mark.parametrize(("condition", "message", "hint_part"), JSON_WORDING_CASES)
def test_json_rule_problem_uses_json_names(condition: dict[str, Any], message: str, hint_part: str) -> None:
    problems = problems_of(condition)

    assert [problem.message for problem in problems] == [message]
    assert hint_part in (problems[0].hint or "")
    assert problems[0].location.pointer is not None


def test_rule_built_in_code_uses_json_names() -> None:
    (problem,) = ast_problems(EventCondition("purchase", "count", "in", (1, 2)))

    assert problem.message == 'operator "in" does not compare an event count'
    assert problem.hint == "Operators allowed here: between, eq, gt, gte, lt, lte, ne, not_between"


def test_problem_params_keep_json_operator_name() -> None:
    (problem,) = dsl_problems('city > "A"')

    assert problem.params["operator"] == "gt"
    assert "not_contains" in problem.params["allowed"]


def test_duration_of_one_unit_reads_singular() -> None:
    (problem,) = ast_problems(Comparison("signed_up_at", "in_last", Duration(-1, "weeks")))

    assert problem.message == "a duration must be at least 1 week, not -1 weeks"


def test_condition_count_message_counts_one() -> None:
    segment = Segment("one", "One", Comparison("city", "eq", "x"))

    (problem,) = segment_problems(segment, limits=Limits(max_conditions=0))

    assert problem.message == 'segment "one" has 1 condition, more than the maximum of 0'


# --- DSL value problems point at the value ---------------------------------------------------

DSL_VALUE_CASES = [
    pytest.param('total_purchase >= "ba"', "wrong_value_type", 19, id="scalar of wrong type"),
    pytest.param('status = "lapse"', "value_not_allowed", 10, id="value not allowed"),
    pytest.param('status in ["new", 5]', "wrong_value_type", 19, id="list item of wrong type"),
    pytest.param("total_purchase in [1,\n    2, \"x\"]", "wrong_value_type", (3, 8), id="list item on next line"),
    pytest.param("total_purchase between 10 and 2", "between_bounds_reversed", 24, id="reversed range"),
    pytest.param('total_purchase between 1 and "9"', "wrong_value_type", 30, id="upper bound of wrong type"),
    pytest.param("signed_up_at on 2024-01-01T10:00:00", "wrong_value_type", 17, id="datetime where date needed"),
    pytest.param('birthday = "1990-13-01"', "wrong_value_type", 12, id="bad date text"),
    pytest.param("last_purchase_at in last 0 days", "duration_not_positive", 26, id="duration"),
    pytest.param("birthday in next 400 days", "days_out_of_range", 18, id="birthday days"),
    pytest.param('count(purchase) >= "x"', "invalid_event_value", 20, id="event value"),
    pytest.param("count(purchase) between 1 and 2.5", "invalid_event_value", 31, id="event upper bound"),
    pytest.param("count(purchase) between 5 and 1", "between_bounds_reversed", 25, id="event reversed range"),
]


@pytest.mark.parametrize(("condition_text", "code", "position"), DSL_VALUE_CASES)
def test_dsl_value_problem_at_value(condition_text: str, code: str, position: int | tuple[int, int]) -> None:
    line, column = position if isinstance(position, tuple) else (2, position)

    problems = dsl_problems(condition_text)

    assert [problem.code for problem in problems] == [code]
    assert problems[0].location == Location(line=line, column=column, source="t.seg")


def test_dsl_problem_of_field_stays_at_condition() -> None:
    (problem,) = dsl_problems('  citty = "Hà Nội"')

    assert problem.location == Location(line=2, column=3, source="t.seg")


def test_json_value_problem_at_value_pointer() -> None:
    cases = [
        ({"field": "total_purchase", "operator": "gte", "type": "string", "value": "ba"}, "/condition/value"),
        ({"field": "status", "operator": "in", "type": "string", "value": ["new", "lapse"]}, "/condition/value/1"),
        ({"field": "total_purchase", "operator": "between", "type": "integer", "value": [10, 2]}, "/condition/value"),
        ({"event": "purchase", "aggregate": "count", "operator": "between", "type": "integer", "value": [5, 1]},
         "/condition/value"),
    ]
    for condition, pointer in cases:
        problems = problems_of(condition)

        assert [problem.location.pointer for problem in problems] == [pointer], condition
