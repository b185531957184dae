"""The rule document's JSON Schema: shipped with the package, valid, and in step with the code."""

from __future__ import annotations

import importlib.resources
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from jsonschema import Draft202012Validator

from segmento.engine.ast import Segment
from segmento.engine.catalog import EVENT_MEASURES
from segmento.engine.jsonform import dump_segment, rule_schema
from segmento.engine.jsonform_schema import VALUE_TYPES, RuleValidator
from segmento.engine.operators import BUILTIN_OPERATORS
from segmento.engine.validation_events import EVENT_OPERATORS
from segmento.engine.values import DURATION_UNITS, PERIOD_NAMES
from tests.strategies_json import segments

REPOSITORY = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def validator() -> Draft202012Validator:
    """A plain draft 2020-12 validator, as an editor or another tool would use the schema."""
    return Draft202012Validator(rule_schema())


def segment(condition: dict[str, Any]) -> dict[str, Any]:
    return {"id": "test_segment", "name": "Test", "condition": condition}


def test_schema_is_valid_draft_2020_12() -> None:
    schema = rule_schema()

    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_schema_is_package_data() -> None:
    resource = importlib.resources.files("segmento").joinpath("schemas", "rule.schema.json")

    assert resource.is_file()
    assert json.loads(resource.read_text(encoding="utf-8")) == rule_schema()
    top_level = REPOSITORY / "schemas" / "rule.schema.json"
    assert json.loads(top_level.read_text(encoding="utf-8")) == rule_schema()


def test_rule_schema_returns_copy() -> None:
    first = rule_schema()
    first["$defs"].clear()

    assert rule_schema()["$defs"]


def test_value_types_match_code() -> None:
    schema = rule_schema()

    assert schema["$defs"]["value_type"]["enum"] == list(VALUE_TYPES)
    assert schema["$defs"]["period"]["enum"] == list(PERIOD_NAMES)
    assert schema["$defs"]["duration"]["properties"]["unit"]["enum"] == list(DURATION_UNITS)


def test_event_vocabulary_matches_code() -> None:
    properties = rule_schema()["$defs"]["event_condition"]["properties"]

    assert properties["measure"]["enum"] == list(EVENT_MEASURES)
    assert set(properties["operator"]["enum"]) == EVENT_OPERATORS


def test_operator_shapes_match_builtin_operators() -> None:
    rules = rule_schema()["$defs"]["value_fits_operator"]["allOf"]
    shape_of: dict[str, set[str]] = {}
    for rule in rules:
        condition = rule["if"]["properties"]["operator"]
        names = condition["enum"] if "enum" in condition else [condition["const"]]
        for name in names:
            shape_of.setdefault(name, set()).add(json.dumps(rule["then"], sort_keys=True))

    assert set(shape_of) == {spec.name for spec in BUILTIN_OPERATORS}
    assert all(len(rules_for_name) == 1 for rules_for_name in shape_of.values())
    by_shape: dict[str, set[str]] = {}
    for spec in BUILTIN_OPERATORS:
        by_shape.setdefault(spec.shape, set()).update(shape_of[spec.name])
    assert all(len(rules_for_shape) == 1 for rules_for_shape in by_shape.values())


def test_every_member_has_description() -> None:
    definitions = rule_schema()["$defs"]
    for kind in ("segment", "group", "field_condition", "event_condition", "segment_reference", "duration"):
        for name, member in definitions[kind]["properties"].items():
            target = definitions[member["$ref"].rsplit("/", 1)[-1]] if "$ref" in member else member
            assert target.get("description"), f"{kind}.{name} has no description"


VALID_CONDITIONS = [
    pytest.param({"field": "total_purchase_value", "operator": "gte", "type": "number", "value": 5000000}, id="number"),
    pytest.param({"field": "total_purchase", "operator": "eq", "type": "decimal", "value": 3.5}, id="decimal alias"),
    pytest.param({"field": "city", "operator": "in", "type": "list", "value": ["Hà Nội", "Huế"]}, id="list"),
    pytest.param({"field": "city", "operator": "is_set"}, id="no value, no type"),
    pytest.param({"field": "city", "operator": "is_set", "type": "string", "value": None}, id="null value"),
    pytest.param({"field": "age", "operator": "between", "type": "integer", "value": [18, 30]}, id="between"),
    pytest.param({"field": "product_views", "include": [1234, "ab"], "operator": "gte", "type": "integer",
                  "value": 3}, id="include"),
    pytest.param({"field": "signed_up_at", "operator": "in_last", "type": "duration", "value": "1 week"},
                 id="duration text"),
    pytest.param({"field": "signed_up_at", "operator": "after", "type": "datetime",
                  "value": "2024-01-31T09:00:00.5+07:00"}, id="datetime with offset"),
    pytest.param({"field": "signed_up_at", "operator": "in_period", "type": "period", "value": "this_week"},
                 id="period"),
    pytest.param({"field": "birthday", "operator": "birthday_in_next", "type": "integer", "value": 0},
                 id="birthday today"),
    pytest.param({"field": "x", "operator": "plugin_operator", "type": "duration",
                  "value": {"amount": 3, "unit": "hours"}}, id="plugin operator"),
    pytest.param({"event": "purchase", "aggregate": "sum", "measure": "price", "operator": "between",
                  "type": "number", "value": [0, 99.5], "include": {"products": [1, "2"]}}, id="event"),
    pytest.param({"segment": "vip", "not": False}, id="reference"),
    pytest.param({"none": [{"any": [{"all": [{"segment": "vip"}]}]}], "not": True}, id="nested groups"),
]


@pytest.mark.parametrize("condition", VALID_CONDITIONS)
def test_valid_document_passes(validator: Draft202012Validator, condition: dict[str, Any]) -> None:
    assert list(validator.iter_errors(segment(condition))) == []


def test_array_of_segments_passes(validator: Draft202012Validator) -> None:
    document = [segment({"segment": "vip"}), segment({"segment": "new"})]

    assert list(validator.iter_errors(document)) == []


INVALID_DOCUMENTS = [
    pytest.param({"name": "A", "condition": {"segment": "vip"}}, id="missing id"),
    pytest.param({"id": "1st", "name": "A", "condition": {"segment": "vip"}}, id="id starts with digit"),
    pytest.param({"id": "a", "name": "A", "condition": {"segment": "vip"}, "owner": "x"}, id="unknown key"),
    pytest.param(segment({"field": "x", "type": "gte", "operator": "number", "value": 1}), id="swapped"),
    pytest.param(segment({"field": "x", "operator": "eq", "type": "integer", "value": "1001"}), id="integer text"),
    pytest.param(segment({"field": "x", "operator": "eq", "type": "date", "value": "2024-1-1"}), id="short date"),
    pytest.param(segment({"field": "x", "operator": "eq", "type": "datetime", "value": "2024-01-01"}),
                 id="date as datetime"),
    pytest.param(segment({"field": "x", "operator": "between", "type": "integer", "value": [1, 2, 3]}),
                 id="three bounds"),
    pytest.param(segment({"field": "x", "operator": "in", "type": "string", "value": "a"}), id="in scalar"),
    pytest.param(segment({"field": "x", "operator": "in_last", "type": "duration", "value": "0 days"}),
                 id="zero days"),
    pytest.param(segment({"field": "x", "operator": "in_last", "type": "duration", "value": "7 fortnights"}),
                 id="unknown unit"),
    pytest.param(segment({"field": "x", "operator": "in_period", "type": "period", "value": "next_week"}),
                 id="unknown period"),
    pytest.param(segment({"field": "x", "operator": "birthday_in_next", "type": "integer", "value": 367}),
                 id="days above 366"),
    pytest.param(segment({"field": "x", "include": [], "operator": "gte", "type": "integer", "value": 1}),
                 id="empty include"),
    pytest.param(segment({"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer",
                          "value": 1.5}), id="fractional count"),
    pytest.param(segment({"event": "purchase", "aggregate": "count", "operator": "in", "type": "integer",
                          "value": [1]}), id="event in"),
    pytest.param(segment({"event": "purchase", "aggregate": "count", "operator": "gte", "type": "integer",
                          "value": 1, "include": {}}), id="empty event include"),
    pytest.param(segment({"all": [{"segment": "a"}], "any": [{"segment": "b"}]}), id="two group keys"),
    pytest.param(segment({"all": []}), id="empty group"),
    pytest.param(segment({"segment": "vip", "field": "city"}), id="two kinds"),
    pytest.param([{"id": "a"}], id="array with invalid segment"),
]


@pytest.mark.parametrize("document", INVALID_DOCUMENTS)
def test_invalid_document_fails(validator: Draft202012Validator, document: Any) -> None:
    assert list(validator.iter_errors(document)) != []


def test_rule_validator_accepts_decimal_whole_numbers() -> None:
    validator = RuleValidator(rule_schema())
    document = segment({"field": "x", "operator": "eq", "type": "integer", "value": Decimal("3.0")})

    assert list(validator.iter_errors(document)) == []
    assert list(Draft202012Validator(rule_schema()).iter_errors(document)) != []


@settings(max_examples=200, deadline=None)
@given(segments)
def test_canonical_dump_passes_plain_validator(generated: Segment) -> None:
    validator = Draft202012Validator(rule_schema())

    assert list(validator.iter_errors(dump_segment(generated))) == []
