"""The compiled schema check accepts exactly what jsonschema accepts, and errors are found node by node."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segmento.engine.errors import Location
from segmento.engine.jsonform import dump_segment
from segmento.engine.jsonform_schema import JSON_TYPES, RuleValidator, rule_schema, schema_problems
from segmento.engine.schema_predicate import compile_predicate
from tests.strategies_json import segments

SEMANTIC_CASES = [
    pytest.param({"const": 1}, True, False, id="true is not 1"),
    pytest.param({"const": 1}, Decimal("1.0"), True, id="decimal equals integer"),
    pytest.param({"enum": ["a", "b"]}, "b", True, id="enum member"),
    pytest.param({"enum": ["a", "b"]}, ["a"], False, id="list is not a member"),
    pytest.param({"enum": [None, False]}, 0, False, id="0 is not false"),
    pytest.param({"type": "integer"}, Decimal("3.0"), True, id="whole decimal is integer"),
    pytest.param({"type": "integer"}, Decimal("3.5"), False, id="fraction is not integer"),
    pytest.param({"type": "integer"}, True, False, id="boolean is not integer"),
    pytest.param({"type": ["array", "null"]}, (1, 2), True, id="tuple is array"),
    pytest.param({"type": "number", "minimum": 0}, Decimal("-0.5"), False, id="below minimum"),
    pytest.param({"minimum": 0}, "x", True, id="minimum ignores text"),
    pytest.param({"pattern": "^a"}, "ba", False, id="pattern searches"),
    pytest.param({"pattern": "a"}, "ba", True, id="pattern not anchored"),
    pytest.param({"pattern": "^a", "minLength": 2}, 5, True, id="text keywords ignore numbers"),
    pytest.param({"maxLength": 2}, "abc", False, id="too long"),
    pytest.param({"minItems": 1, "maxItems": 2}, [], False, id="too few items"),
    pytest.param({"items": {"type": "string"}}, ["a", 1], False, id="item of wrong type"),
    pytest.param({"required": ["a", "b"]}, {"a": 1}, False, id="missing key"),
    pytest.param({"required": ["a"]}, ["a"], True, id="required ignores lists"),
    pytest.param({"minProperties": 1}, {}, False, id="empty object"),
    pytest.param(
        {"properties": {"a": {"type": "string"}}, "additionalProperties": False}, {"a": "x", "b": 1}, False,
        id="additional key",
    ),
    pytest.param({"properties": {"a": {"type": "string"}}}, {"a": 1}, False, id="property of wrong type"),
    pytest.param({"dependentSchemas": {"a": {"required": ["b"]}}}, {"a": 1}, False, id="dependency missing"),
    pytest.param({"dependentSchemas": {"a": {"required": ["b"]}}}, {"b": 1}, True, id="dependency not needed"),
    pytest.param(
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}, {"a": 1}, False,
        id="then applies",
    ),
    pytest.param(
        {"if": {"required": ["a"]}, "then": {"required": ["b"]}, "else": {"required": ["c"]}}, {"c": 1}, True,
        id="else applies",
    ),
    pytest.param({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, 5, False, id="one of, two match"),
    pytest.param({"oneOf": [{"type": "integer"}, {"minimum": 0}]}, Decimal("0.5"), True, id="one of, one matches"),
    pytest.param({"anyOf": [{"type": "string"}, {"type": "null"}]}, 1, False, id="any of, none match"),
    pytest.param({"allOf": [{"type": "integer"}, {"maximum": 3}]}, 4, False, id="all of, one fails"),
    pytest.param({"not": {"required": ["a"]}}, {"a": 1}, False, id="not"),
    pytest.param({"$defs": {"text": {"type": "string"}}, "$ref": "#/$defs/text"}, 1, False, id="reference"),
    pytest.param(
        {
            "$defs": {"node": {"type": "object", "properties": {"next": {"$ref": "#/$defs/node"}}}},
            "$ref": "#/$defs/node",
        },
        {"next": {"next": 1}},
        False,
        id="recursive reference",
    ),
    pytest.param(False, None, False, id="false schema"),
]


@pytest.mark.parametrize(("schema", "instance", "valid"), SEMANTIC_CASES)
def test_compiled_check_matches_jsonschema(schema: Any, instance: Any, valid: bool) -> None:
    check = compile_predicate(schema, JSON_TYPES)

    assert RuleValidator(schema).is_valid(instance) is valid
    assert check(instance) is valid


def test_false_schema_rejects_member() -> None:
    check = compile_predicate({"properties": {"a": False}}, JSON_TYPES)

    assert check({"b": 1})
    assert not check({"a": 1})


@pytest.mark.parametrize(
    ("schema", "named"),
    [
        pytest.param({"format": "date"}, "'format'", id="unknown keyword"),
        pytest.param({"properties": {"a": {"contains": {}}}}, "'contains'", id="nested unknown keyword"),
        pytest.param({"$ref": "other.json#/x"}, "other.json", id="remote reference"),
        pytest.param({"const": [1]}, "[1]", id="list constant"),
        pytest.param({"type": "text"}, "'text'", id="unknown type"),
    ],
)
def test_compiled_check_rejects_unsupported_schema(schema: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match="not supported|unknown JSON type") as raised:
        compile_predicate(schema, JSON_TYPES)

    assert named in str(raised.value)


def test_shipped_schema_compiles() -> None:
    schema = rule_schema()

    for definition in (None, "segment", "condition"):
        assert callable(compile_predicate(schema, JSON_TYPES, definition))


# --- the rule schema on documents ----------------------------------------------------------

def leaf(**members: Any) -> dict[str, Any]:
    return {"field": "city", "operator": "eq", "type": "string", "value": "Huế", **members}


EVENT = {"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer", "value": 1}

RULE_DOCUMENTS = [
    pytest.param({"id": "1st", "name": "A", "condition": {"segment": "vip"}}, id="id pattern"),
    pytest.param({"id": "a" * 101, "name": "A", "condition": {"segment": "vip"}}, id="id too long"),
    pytest.param({"id": "a", "name": "", "condition": {"segment": "vip"}}, id="empty name"),
    pytest.param({"id": "a", "name": "A"}, id="no condition"),
    pytest.param({"id": "a", "name": "A", "condition": {"segment": "vip"}, "owner": "x"}, id="unknown key"),
    pytest.param({"id": "a", "name": "A", "condition": {"all": []}}, id="empty group"),
    pytest.param({"id": "a", "name": "A", "condition": {"all": [EVENT], "any": [EVENT]}}, id="two group keys"),
    pytest.param({"id": "a", "name": "A", "condition": {"all": [EVENT], "not": 1}}, id="not as number"),
    pytest.param({"id": "a", "name": "A", "condition": {"all": [{"all": [{"segment": "1x"}]}]}}, id="deep id"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "value": -1}}, id="negative event value"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "value": 1.5}}, id="fractional count"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "aggregate": "average"}}, id="unknown aggregate"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "include": {}}}, id="empty event include"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "in_last": "7 days", "in_period": "today"}},
                 id="two windows"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "in_last": {"amount": 0, "unit": "days"}}},
                 id="zero duration"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "in_last": "7 fortnights"}}, id="duration text"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "operator": "between", "value": [1, 2, 3]}},
                 id="three bounds"),
    pytest.param({"id": "a", "name": "A", "condition": leaf(type="date", value="2024-1-1")}, id="date pattern"),
    pytest.param({"id": "a", "name": "A", "condition": leaf(operator="in_last", type="integer", value=7)},
                 id="duration operator without duration"),
    pytest.param({"id": "a", "name": "A", "condition": leaf(operator="birthday_in_next", type="integer", value=367)},
                 id="days above maximum"),
    pytest.param({"id": "a", "name": "A", "condition": leaf(include=[])}, id="empty include"),
    pytest.param({"id": "a", "name": "A", "condition": leaf(operator="is_set")}, id="value for is_set"),
    pytest.param({"id": "a", "name": "A", "condition": {"field": "city", "operator": "gte", "value": 3}},
                 id="value without type"),
    pytest.param({"id": "a", "name": "A", "condition": {"segment": "vip", "field": "city"}}, id="two kinds"),
    pytest.param({"id": "a", "name": "A", "condition": {**EVENT, "in_last": "7 days"}}, id="valid event"),
    pytest.param({"id": "a", "name": "A", "condition": leaf(include=["1", 2])}, id="valid include"),
]


@pytest.mark.parametrize("document", RULE_DOCUMENTS)
def test_rule_documents_judged_as_jsonschema_does(document: dict[str, Any]) -> None:
    schema = rule_schema()
    valid = RuleValidator(schema).evolve(schema=schema["$defs"]["segment"]).is_valid(document)

    assert compile_predicate(schema, JSON_TYPES, "segment")(document) is valid
    assert (schema_problems(document, "segment", Location(pointer="")) == []) is valid


# --- the rule schema on generated documents --------------------------------------------

WORDS = ("x", "", "gte", "in", "between", "is_set", "integer", "number", "string", "list", "date", "duration",
         "period", "count", "sum", "value", "7 days", "0 days", "this_month", "2024-02-30", "2024-01-01T09:00")
KEYS = ("bogus", "feild", "all", "any", "none", "not", "field", "event", "segment", "type", "value", "include",
        "in_last", "in_period", "measure", "operator", "ignore_case", "aggregate", "products", "amount", "unit")

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-2, max_value=400)
    | st.decimals(min_value=-2, max_value=400, places=1)
    | st.sampled_from(WORDS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
    max_leaves=6,
)


def containers(node: Any) -> Iterator[Any]:
    """Yield every object and list in a JSON document, the document first."""
    if isinstance(node, (dict, list)):
        yield node
        for child in node.values() if isinstance(node, dict) else node:
            yield from containers(child)


@st.composite
def mutated_documents(draw: st.DrawFn) -> dict[str, Any]:
    """Return the JSON form of a generated segment with one to three random edits."""
    document = dump_segment(draw(segments))
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        target = draw(st.sampled_from(list(containers(document))))
        if isinstance(target, dict):
            key = draw(st.sampled_from(sorted(target) + list(KEYS)))
            if key in target and draw(st.booleans()):
                del target[key]
            else:
                target[key] = draw(json_values)
        elif target and draw(st.booleans()):
            del target[draw(st.integers(min_value=0, max_value=len(target) - 1))]
        else:
            target.append(draw(json_values))
    return document


@settings(max_examples=300, deadline=None)
@given(mutated_documents())
def test_edited_documents_judged_as_jsonschema_does(document: dict[str, Any]) -> None:
    schema = rule_schema()
    valid = RuleValidator(schema).evolve(schema=schema["$defs"]["segment"]).is_valid(document)

    assert compile_predicate(schema, JSON_TYPES, "segment")(document) is valid
    assert (schema_problems(document, "segment", Location(pointer="")) == []) is valid


@settings(max_examples=100, deadline=None)
@given(st.lists(mutated_documents(), min_size=1, max_size=3))
def test_edited_arrays_judged_as_jsonschema_does(documents: list[dict[str, Any]]) -> None:
    schema = rule_schema()
    valid = RuleValidator(schema).is_valid(documents)

    assert compile_predicate(schema, JSON_TYPES)(documents) is valid
    assert (schema_problems(documents, None, Location(pointer="")) == []) is valid


# --- errors of nested conditions ---------------------------------------------------------


def test_deep_problem_reported_at_its_node() -> None:
    document = {
        "id": "deep",
        "name": "Deep",
        "condition": {"all": [leaf(), {"any": [leaf(), {"none": [leaf(), leaf(value=5)]}]}]},
    }

    problems = schema_problems(document, "segment", Location(pointer=""))

    assert [problem.location.pointer for problem in problems] == ["/condition/all/1/any/1/none/1/value"]
    assert problems[0].code == "wrong_json_type"


def test_problems_of_group_and_child_together() -> None:
    document = {"id": "both", "name": "Both", "condition": {"all": [leaf(operater="eq")], "nto": True}}

    problems = schema_problems(document, "segment", Location(pointer=""))

    assert [(problem.code, problem.location.pointer) for problem in problems] == [
        ("unknown_key", "/condition/nto"),
        ("unknown_key", "/condition/all/0/operater"),
    ]
    assert problems[0].hint == 'Did you mean "not"?'


def test_problem_in_second_segment_of_array() -> None:
    documents = [
        {"id": "first", "name": "First", "condition": leaf()},
        {"id": "second", "name": "Second", "condition": {"any": [{"segment": "first"}, {"segmnt": "x"}]}},
    ]

    problems = schema_problems(documents, None, Location(pointer="", source="rules.json"))

    assert [problem.location.pointer for problem in problems] == ["/1/condition/any/1"]
    assert problems[0].code == "unknown_condition_kind"
    assert problems[0].location.source == "rules.json"
