"""Reading and writing the JSON form of rules."""

from __future__ import annotations

import json
import unicodedata
from copy import deepcopy
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings

from segmento.engine.ast import Comparison, EventCondition, Group, Segment, SegmentRef, TextOptions, walk
from segmento.engine.errors import Location, RuleErrors, RuleSchemaError, RuleSemanticError, RuleSyntaxError
from segmento.engine.jsonform import (
    dump_condition,
    dump_segment,
    dumps_segment,
    dumps_segments,
    load_condition,
    load_segment,
    load_segments,
    parse_json_text,
)
from segmento.engine.values import CalendarPeriod, Duration
from tests.strategies_json import segments

VIP_HANOI = """{
  "id": "vip_hanoi",
  "name": "Khách VIP Hà Nội",
  "description": "Đã chi trên 5 triệu và sống ở Hà Nội",
  "condition": {"all": [
    {"field": "total_purchase_value", "operator": "gte", "type": "number", "value": 5000000.10},
    {"field": "city", "operator": "eq", "type": "string", "value": "ha noi",
     "ignore_case": true, "ignore_accents": true},
    {"any": [
      {"field": "long_term_interests", "operator": "contains_any", "type": "list", "value": ["giày", "túi xách"]},
      {"field": "product_views", "include": [1234, "5678"], "operator": "gte", "type": "integer", "value": 3}
    ]},
    {"none": [{"field": "status", "operator": "eq", "type": "string", "value": "lapsed"}], "not": true},
    {"event": "add_to_cart", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1,
     "in_last": {"amount": 7, "unit": "days"}},
    {"event": "purchase", "aggregate": "sum", "measure": "value", "operator": "between", "type": "decimal",
     "value": [0, 1.5E6], "include": {"categories": ["shoes"], "products": [42]}, "in_period": "this_month"},
    {"field": "birthday", "operator": "birthday_in_next", "type": "integer", "value": 30},
    {"field": "city", "operator": "is_set"},
    {"segment": "blocked_customers", "not": true}
  ]}
}"""


def condition_document(**leaf: Any) -> dict[str, Any]:
    return {"id": "test_segment", "name": "Test", "condition": leaf}


def load_problems(document: Any) -> list[RuleSchemaError | RuleSyntaxError]:
    """Return the problems that loading ``document`` raises, in the order reported."""
    try:
        load_segment(document)
    except RuleErrors as errors:
        return list(errors.errors)  # type: ignore[arg-type]
    except (RuleSchemaError, RuleSyntaxError) as error:
        return [error]
    pytest.fail("the document loaded without an error")


# --- reading --------------------------------------------------------------------------


def test_load_builds_every_node_kind() -> None:
    segment = load_segment(VIP_HANOI, source="rules/vip.json")

    assert segment.id == "vip_hanoi"
    assert segment.name == "Khách VIP Hà Nội"
    assert segment.description == "Đã chi trên 5 triệu và sống ở Hà Nội"
    group = segment.condition
    assert isinstance(group, Group)
    assert group.kind == "all"
    assert group.conditions[0] == Comparison("total_purchase_value", "gte", Decimal("5000000.10"))
    assert group.conditions[1] == Comparison(
        "city", "eq", "ha noi", options=TextOptions(ignore_case=True, ignore_accents=True)
    )
    assert group.conditions[2] == Group(
        "any",
        (
            Comparison("long_term_interests", "contains_any", ("giày", "túi xách")),
            Comparison("product_views", "gte", 3, include=("1234", "5678")),
        ),
    )
    assert group.conditions[3] == Group("none", (Comparison("status", "eq", "lapsed"),), negated=True)
    assert group.conditions[4] == EventCondition("add_to_cart", "count", "gte", 1, window=Duration(7, "days"))
    assert group.conditions[5] == EventCondition(
        "purchase",
        "sum",
        "between",
        (Decimal(0), Decimal("1.5E6")),
        measure="value",
        products=("42",),
        categories=("shoes",),
        window=CalendarPeriod("this_month"),
    )
    assert group.conditions[6] == Comparison("birthday", "birthday_in_next", 30)
    assert group.conditions[7] == Comparison("city", "is_set")
    assert group.conditions[8] == SegmentRef("blocked_customers", negated=True)


def test_load_locates_every_node() -> None:
    segment = load_segment(VIP_HANOI, source="rules/vip.json")

    for node in walk(segment):
        assert node.loc.source == "rules/vip.json"
        assert node.loc.pointer is not None
    group = segment.condition
    assert isinstance(group, Group)
    inner = group.conditions[2]
    assert isinstance(inner, Group)
    assert segment.loc.pointer == ""
    assert group.loc.pointer == "/condition"
    assert inner.conditions[1].loc.pointer == "/condition/all/2/any/1"
    assert str(inner.conditions[1].loc) == "rules/vip.json#/condition/all/2/any/1"


def test_load_accepts_bytes_with_byte_order_mark() -> None:
    segment = load_segment(b"\xef\xbb\xbf" + VIP_HANOI.encode("utf-8"))

    assert segment.name == "Khách VIP Hà Nội"


def test_load_reads_fractions_as_exact_decimals() -> None:
    segment = load_segment('{"id": "a", "name": "A", "condition": '
                           '{"field": "x", "operator": "eq", "type": "number", "value": 0.1}}')

    assert isinstance(segment.condition, Comparison)
    assert segment.condition.value == Decimal("0.1")
    assert isinstance(segment.condition.value, Decimal)


@pytest.mark.parametrize(
    ("type_name", "raw", "expected"),
    [
        ("integer", 3, 3),
        ("integer", Decimal("3.0"), 3),
        ("integer", 3.0, 3),
        ("number", 3, Decimal(3)),
        ("number", 0.1, Decimal("0.1")),
        ("decimal", Decimal("19.99"), Decimal("19.99")),
        ("boolean", True, True),
        ("date", "2024-02-29", date(2024, 2, 29)),
        ("datetime", "2024-01-31T09:30:00", datetime(2024, 1, 31, 9, 30)),
        ("datetime", "2024-01-31T09:30:00Z", datetime(2024, 1, 31, 9, 30, tzinfo=timezone.utc)),
        ("datetime", "2024-01-31T09:30:00.25+07:00",
         datetime(2024, 1, 31, 9, 30, 0, 250000, tzinfo=timezone(timedelta(hours=7)))),
        ("duration", "1 day", Duration(1, "days")),
        ("duration", "7 days", Duration(7, "days")),
        ("duration", {"amount": 2, "unit": "hours"}, Duration(2, "hours")),
        ("period", "last_week", CalendarPeriod("last_week")),
        ("list", ["a", "b"], ("a", "b")),
        ("list", [1, 2], (1, 2)),
        ("list", [1, 2.5], (Decimal(1), Decimal("2.5"))),
        ("list", [True], (True,)),
        ("list", [], ()),
        ("date", ["2024-01-01", "2024-12-31"], (date(2024, 1, 1), date(2024, 12, 31))),
    ],
)
def test_load_converts_value_by_type(type_name: str, raw: Any, expected: Any) -> None:
    # An operator no built-in plugin registers, so the schema checks only type and value.
    leaf = load_condition({"field": "x", "operator": "plugin_test", "type": type_name, "value": raw})

    assert isinstance(leaf, Comparison)
    assert leaf.value == expected
    assert type(leaf.value) is type(expected)
    if isinstance(expected, tuple) and expected:
        assert type(leaf.value[0]) is type(expected[0])


def test_load_normalizes_strings_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    document = condition_document(field="city", operator="eq", type="string", value=decomposed)
    document["name"] = decomposed

    segment = load_segment(document)

    assert segment.name == "Hà Nội"
    assert isinstance(segment.condition, Comparison)
    assert segment.condition.value == "Hà Nội"


def test_load_without_type_for_operator_without_value() -> None:
    leaf = load_condition({"field": "city", "operator": "is_not_set"})

    assert leaf == Comparison("city", "is_not_set")


def test_load_condition_uses_given_pointer() -> None:
    leaf = load_condition({"segment": "vip"}, source="editor", pointer="/rules/3")

    assert leaf.loc == Location(pointer="/rules/3", source="editor")


def test_load_segments_reads_object_or_array() -> None:
    single = load_segments(condition_document(segment="vip"))
    several = load_segments([condition_document(segment="vip"), condition_document(segment="new")])

    assert [segment.loc.pointer for segment in single] == [""]
    assert [segment.loc.pointer for segment in several] == ["/0", "/1"]
    assert several[1].condition.loc.pointer == "/1/condition"


def test_load_segments_reports_pointer_in_array() -> None:
    documents = [condition_document(segment="vip"), condition_document(segment="not valid")]

    with pytest.raises(RuleSchemaError) as raised:
        load_segments(documents)

    assert raised.value.location.pointer == "/1/condition/segment"
    assert raised.value.code == "invalid_format"


# --- errors ---------------------------------------------------------------------------


def test_swapped_type_and_operator_is_reported() -> None:
    document = condition_document(field="total_purchase", type="gte", operator="number", value=3)

    problems = load_problems(document)

    assert len(problems) == 1
    assert problems[0].code == "swapped_type_operator"
    assert problems[0].location.pointer == "/condition"
    assert "look swapped" in problems[0].message
    assert problems[0].hint is not None
    assert '"operator": "gte", "type": "number"' in problems[0].hint


def test_swapped_format_is_reported_first() -> None:
    document = condition_document(
        all=[
            {"field": "city", "operator": "eq", "type": "string", "value": 5},
            {"field": "total_purchase", "type": "lte", "operator": "integer", "value": 3},
        ]
    )

    problems = load_problems(document)

    assert [problem.code for problem in problems] == ["swapped_type_operator", "wrong_json_type"]
    assert problems[0].location.pointer == "/condition/all/1"
    assert problems[1].location.pointer == "/condition/all/0/value"


ERROR_CASES = [
    pytest.param(
        {"field": "total_purchase", "operator": "eq", "type": "integer", "value": "1001"},
        "wrong_json_type", "/condition/value", "without quotes",
        id="integer written as text",
    ),
    pytest.param(
        {"field": "birthday", "operator": "eq", "type": "date", "value": "31/01/2024"},
        "invalid_format", "/condition/value", "YYYY-MM-DD",
        id="date in another format",
    ),
    pytest.param(
        {"field": "birthday", "operator": "in", "type": "date", "value": ["2024-01-01", "soon"]},
        "invalid_format", "/condition/value/1", "YYYY-MM-DD",
        id="bad date in a list",
    ),
    pytest.param(
        {"field": "age", "operator": "between", "type": "integer", "value": [18]},
        "too_few_items", "/condition/value", "[lower, upper]",
        id="between with one bound",
    ),
    pytest.param(
        {"field": "city", "operator": "eq", "type": "string", "value": ["a"]},
        "wrong_json_type", "/condition/value", "one value",
        id="list for a scalar operator",
    ),
    pytest.param(
        {"field": "city", "operator": "is_set", "type": "string", "value": "x"},
        "wrong_json_type", "/condition/value", "take no value",
        id="value for is_set",
    ),
    pytest.param(
        {"field": "total_purchase", "operator": "gte", "value": 3},
        "missing_key", "/condition", "needs \"type\"",
        id="value without type",
    ),
    pytest.param(
        {"field": "signed_up_at", "operator": "in_last", "type": "duration", "value": {"amount": 0, "unit": "days"}},
        "below_minimum", "/condition/value/amount", "7 days",
        id="zero duration",
    ),
    pytest.param(
        {"field": "signed_up_at", "operator": "in_last", "type": "integer", "value": 7},
        "value_not_allowed", "/condition/type", "duration",
        id="in_last without duration",
    ),
    pytest.param(
        {"field": "birthday", "operator": "birthday_in_month", "type": "integer", "value": 13},
        "above_maximum", "/condition/value", "12 (December)",
        id="month 13",
    ),
    pytest.param(
        {"field": "city", "operator": "eq", "type": "text", "value": "x"},
        "value_not_allowed", "/condition/type", "Use one of",
        id="unknown type name",
    ),
    pytest.param(
        {"field": "product_views", "include": [], "operator": "gte", "type": "integer", "value": 3},
        "too_few_items", "/condition/include", "Non-empty list",
        id="empty include",
    ),
    pytest.param(
        {"field": "city", "operator": "eq", "type": "string", "value": "x", "ignore_case": "yes"},
        "wrong_json_type", "/condition/ignore_case", "ignoring case",
        id="text option not boolean",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "average", "operator": "gte", "type": "integer", "value": 1},
        "value_not_allowed", "/condition/aggregate", "count",
        id="unknown aggregate",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer", "value": -1},
        "below_minimum", "/condition/value", "non-negative",
        id="negative event value",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1,
         "in_last": "7 days", "in_period": "today"},
        "conflicting_keys", "/condition", "either in_last or in_period",
        id="two event windows",
    ),
    pytest.param(
        {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1,
         "include": {"brands": ["x"]}},
        "unknown_key", "/condition/include/brands", "Allowed keys here",
        id="unknown event include",
    ),
    pytest.param(
        {"segment": "vip", "negated": True},
        "unknown_key", "/condition/negated", "Allowed keys here",
        id="unknown key in reference",
    ),
    pytest.param(
        {"all": []},
        "too_few_items", "/condition/all", "non-empty list",
        id="empty group",
    ),
    pytest.param(
        {"all": [{"segment": "vip"}], "any": [{"segment": "new"}]},
        "mixed_condition_kinds", "/condition", "Nest one group",
        id="two group keys",
    ),
    pytest.param(
        {"field": "city", "segment": "vip"},
        "mixed_condition_kinds", "/condition", "Split it",
        id="field and segment keys",
    ),
    pytest.param(
        {"feild": "city", "operator": "is_set"},
        "unknown_condition_kind", "/condition", 'Did you mean "field"',
        id="misspelled kind key",
    ),
    pytest.param(
        {"not": True},
        "unknown_condition_kind", "/condition", "A condition is exactly one of",
        id="no kind key",
    ),
]


@pytest.mark.parametrize(("condition", "code", "pointer", "hint_part"), ERROR_CASES)
def test_schema_error_names_pointer_and_hint(
    condition: dict[str, Any], code: str, pointer: str, hint_part: str
) -> None:
    problems = load_problems(condition_document(**condition))

    assert problems[0].code == code
    assert problems[0].location.pointer == pointer
    assert problems[0].hint is not None
    assert hint_part in problems[0].hint


def test_condition_that_is_not_object() -> None:
    problems = load_problems(condition_document(all=["city is set"]))

    assert problems[0].code == "wrong_json_type"
    assert problems[0].location.pointer == "/condition/all/0"
    assert "the string" in problems[0].message


def test_misspelled_key_reported_once_with_suggestion() -> None:
    problems = load_problems(condition_document(field="city", operater="eq", type="string", value="x"))

    assert len(problems) == 1
    assert problems[0].code == "unknown_key"
    assert problems[0].location.pointer == "/condition/operater"
    assert problems[0].hint == 'Did you mean "operator"?'


def test_segment_keys_are_checked() -> None:
    problems = load_problems({"id": "vip hanoi", "name": "", "conditions": {"segment": "vip"}})

    found = {(problem.code, problem.location.pointer) for problem in problems}
    assert ("invalid_format", "/id") in found
    assert ("empty_text", "/name") in found
    assert ("unknown_key", "/conditions") in found
    assert ("missing_key", "") not in found


def test_several_problems_are_raised_together() -> None:
    document = condition_document(
        all=[
            {"field": "city", "operator": "eq", "type": "string", "value": 1},
            {"field": "age", "operator": "gte", "type": "integer", "value": "x"},
        ]
    )

    with pytest.raises(RuleErrors) as raised:
        load_segment(document)

    assert [error.location.pointer for error in raised.value.errors] == [
        "/condition/all/0/value",
        "/condition/all/1/value",
    ]
    assert raised.value.location.pointer == "/condition/all/0/value"
    assert "(and 1 more problem)" in str(raised.value)


@pytest.mark.parametrize(
    ("operator", "type_name", "raw", "code", "pointer"),
    [
        ("eq", "date", "2024-02-30", "invalid_date", "/condition/value"),
        ("eq", "datetime", "2024-01-31T25:00:00", "invalid_datetime", "/condition/value"),
        ("eq", "number", float("nan"), "value_type_mismatch", "/condition/value"),
        ("in", "date", ["2024-01-31", "2024-02-30"], "invalid_date", "/condition/value/1"),
        ("in", "list", ["a", 1], "mixed_list", "/condition/value/1"),
        ("in", "list", [1, Decimal("2.5"), True, "b"], "mixed_list", "/condition/value/2"),
        ("in", "list", ["a", "b", 3], "mixed_list", "/condition/value/2"),
    ],
)
def test_value_conversion_error_at_pointer(operator: str, type_name: str, raw: Any, code: str, pointer: str) -> None:
    problems = load_problems(condition_document(field="x", operator=operator, type=type_name, value=raw))

    assert [problem.code for problem in problems] == [code]
    assert problems[0].location.pointer == pointer
    assert problems[0].hint


def test_nan_in_json_text_is_an_error() -> None:
    text = '{"id": "a", "name": "A", "condition": {"field": "x", "operator": "gte", "type": "number", "value": NaN}}'

    problems = load_problems(text)

    assert problems[0].location.pointer == "/condition/value"
    assert "finite" in problems[0].message


def test_json_syntax_error_has_line_and_column() -> None:
    text = '{\n  "id": "a",\n  "name": "A",\n  "condition": {"segment": "x",}\n}'

    with pytest.raises(RuleSyntaxError) as raised:
        load_segment(text, source="vip.json")

    assert raised.value.location == Location(line=4, column=32, source="vip.json")
    assert raised.value.source_line == '  "condition": {"segment": "x",}'
    assert str(raised.value).startswith("vip.json:4:32: invalid JSON")


def test_duplicate_key_is_syntax_error() -> None:
    text = '{"id": "a", "name": "A",\n "condition": {"field": "x", "operator": "gte", "operator": "lte"}}'

    with pytest.raises(RuleSyntaxError) as raised:
        load_segment(text)

    assert raised.value.code == "duplicate_key"
    assert raised.value.location.line == 2
    assert '"operator"' in raised.value.message


def test_invalid_utf8_is_syntax_error() -> None:
    with pytest.raises(RuleSyntaxError) as raised:
        load_segment(b'{"id": "a",\n "name": "\xc3\x28"}', source="bad.json")

    assert raised.value.code == "not_utf8"
    assert raised.value.location.line == 2
    assert raised.value.location.column == 11
    assert raised.value.location.source == "bad.json"


def test_parse_json_text_keeps_integers_and_decimals() -> None:
    parsed = parse_json_text('{"a": 5000000, "b": 5000000.00, "c": 1e3}')

    assert parsed == {"a": 5000000, "b": Decimal("5000000.00"), "c": Decimal("1E+3")}
    assert type(parsed["a"]) is int


# --- writing --------------------------------------------------------------------------


def test_dump_writes_canonical_form() -> None:
    segment = load_segment(VIP_HANOI)

    document = dump_segment(segment)

    conditions = document["condition"]["all"]
    assert list(document) == ["id", "name", "description", "condition"]
    assert conditions[1] == {
        "field": "city",
        "operator": "eq",
        "type": "string",
        "value": "ha noi",
        "ignore_case": True,
        "ignore_accents": True,
    }
    assert conditions[2]["any"][0]["type"] == "string"
    assert list(conditions[2]["any"][1]) == ["field", "include", "operator", "type", "value"]
    assert conditions[3]["not"] is True
    assert conditions[4]["in_last"] == {"amount": 7, "unit": "days"}
    assert conditions[5]["type"] == "number"
    assert conditions[5]["include"] == {"products": ["42"], "categories": ["shoes"]}
    assert conditions[7] == {"field": "city", "operator": "is_set"}
    assert conditions[8] == {"segment": "blocked_customers", "not": True}


def test_dump_leaves_out_defaults() -> None:
    segment = Segment("a", "A", Group("all", (SegmentRef("b"),)))

    assert dump_segment(segment) == {"id": "a", "name": "A", "condition": {"all": [{"segment": "b"}]}}


def test_dumps_writes_decimals_as_exact_numbers() -> None:
    segment = Segment("a", "A", Comparison("total_purchase_value", "gte", Decimal("5000000.10")))

    text = dumps_segment(segment)

    assert '"value": 5000000.10' in text
    assert json.loads(text, parse_float=Decimal)["condition"]["value"] == Decimal("5000000.10")


def test_dumps_compact_and_list_forms() -> None:
    segment = Segment("a", "Hà Nội", SegmentRef("b"))

    assert dumps_segment(segment, indent=None) == '{"id": "a", "name": "Hà Nội", "condition": {"segment": "b"}}'
    assert json.loads(dumps_segments([segment, segment])) == [dump_segment(segment)] * 2


def test_dump_writes_datetime_with_offset() -> None:
    leaf = Comparison("signed_up_at", "after", datetime(2024, 1, 31, 9, 0, tzinfo=timezone(timedelta(hours=7))))

    assert dump_condition(leaf)["value"] == "2024-01-31T09:00:00+07:00"
    assert dump_condition(leaf)["type"] == "datetime"


def test_dump_rejects_list_of_mixed_types() -> None:
    leaf = Comparison("city", "in", ("a", 1))

    with pytest.raises(RuleSemanticError) as raised:
        dump_condition(leaf)

    assert raised.value.code == "mixed_list"


# --- round trips ----------------------------------------------------------------------


def test_round_trip_of_example() -> None:
    segment = load_segment(VIP_HANOI)

    assert load_segment(dump_segment(segment)) == segment
    assert load_segment(dumps_segment(segment)) == segment


def test_load_leaves_document_unchanged() -> None:
    document = json.loads(VIP_HANOI, parse_float=Decimal)
    original = deepcopy(document)

    load_segment(document)

    assert document == original


@settings(max_examples=300, deadline=None)
@given(segments)
def test_round_trip_through_dict(segment: Segment) -> None:
    assert load_segment(dump_segment(segment)) == segment


@settings(max_examples=300, deadline=None)
@given(segments)
def test_round_trip_through_text(segment: Segment) -> None:
    text = dumps_segment(segment)

    loaded = load_segment(text)

    assert loaded == segment
    assert dumps_segment(loaded) == text


@settings(max_examples=100, deadline=None)
@given(segments)
def test_round_trip_locations_follow_document(segment: Segment) -> None:
    loaded = load_segment(dump_segment(segment), source="generated.json")

    for node in walk(loaded):
        assert node.loc.source == "generated.json"
        assert node.loc.pointer is not None


# --- documents nested too deeply -----------------------------------------------------------

LEAF_TEXT = '{"field": "city", "operator": "eq", "type": "string", "value": "a"}'


@pytest.mark.parametrize("groups", [60, 500, 5000])
def test_deep_nesting_is_a_clear_error(groups: int) -> None:
    text = '{"id": "x", "name": "X", "condition": ' + '{"all": [' * groups + LEAF_TEXT + "]}" * groups + "}"
    with pytest.raises(RuleSchemaError) as caught:
        load_segment(text, source="deep.json")
    assert caught.value.code == "too_deep"
    assert caught.value.location.pointer == ""
    assert "more than 100 levels deep" in caught.value.message


def test_nesting_within_bound_reaches_validation() -> None:
    text = '{"id": "x", "name": "X", "condition": ' + '{"all": [' * 12 + LEAF_TEXT + "]}" * 12 + "}"
    segment = load_segment(text)
    assert isinstance(segment.condition, Group)
