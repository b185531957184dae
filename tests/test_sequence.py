"""The behaviour plugin's sequence condition in the JSON form, the DSL, validation and explanations.

Which profiles it selects, on every target, is in the shared case table (``tests/cases/sequences.py``).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from segmento.engine.dsl.formatter import format_condition
from segmento.engine.dsl.parser import parse_condition
from segmento.engine.errors import RuleErrors, RuleSchemaError
from segmento.engine.explain import explain
from segmento.engine.jsonform import dump_condition, load_condition, load_segment
from segmento.engine.profiles import coerce_profile
from segmento.engine.registry import get_registry
from segmento.engine.validation import segment_problems, validate_segment
from segmento.engine.values import CalendarPeriod, Duration
from segmento.plugins.behaviour import SequenceCondition
from segmento.plugins.sql.compiler import compile_to_text
from segmento.plugins.sql.model import ProfileModel

RULE = SequenceCondition(
    "add_to_cart", "purchase", Duration(3, "days"), window=Duration(30, "days"), same_product=True
)


def test_json_form_round_trips() -> None:
    node = load_condition(
        {
            "sequence": {
                "first": "add_to_cart",
                "then_not": "purchase",
                "within": "3 days",
                "in_last": {"amount": 30, "unit": "days"},
                "same_product": True,
            }
        }
    )
    assert node == RULE
    assert dump_condition(node) == {
        "sequence": {
            "first": "add_to_cart",
            "then_not": "purchase",
            "within": {"amount": 3, "unit": "days"},
            "in_last": {"amount": 30, "unit": "days"},
            "same_product": True,
        }
    }
    assert load_condition(dump_condition(node)) == node


def test_json_form_rejects_two_windows() -> None:
    value = {"first": "add_to_cart", "then_not": "purchase", "within": "1 day", "in_last": "2 days"}
    with pytest.raises(RuleSchemaError) as caught:
        load_condition({"sequence": {**value, "in_period": "today"}}, pointer="/condition")
    assert caught.value.location.pointer == "/condition/sequence"


def test_json_form_bad_duration_location() -> None:
    with pytest.raises(RuleSchemaError) as caught:
        load_condition({"sequence": {"first": "add_to_cart", "then_not": "purchase", "within": "3 months"}})
    assert caught.value.location.pointer == "/sequence/within"


@pytest.mark.parametrize(
    "node",
    [RULE, SequenceCondition("add_to_cart", "purchase", Duration(30, "minutes"), window=CalendarPeriod("this_week"))],
)
def test_dsl_form_round_trips(node: SequenceCondition) -> None:
    text = format_condition(node)
    assert text.startswith("use sequence {")
    assert parse_condition(text) == node


def test_dsl_schema_problem_location() -> None:
    with pytest.raises(RuleSchemaError) as caught:
        parse_condition('all {\n  use sequence {"first": "add_to_cart", "within": "1 day"}\n}')
    assert (caught.value.location.line, caught.value.location.column) == (2, 3)
    assert 'missing key "then_not"' in caught.value.message


def test_validation_unknown_event_kind() -> None:
    segment = load_segment(
        {
            "id": "carts",
            "name": "Carts",
            "condition": {"sequence": {"first": "add_to_kart", "then_not": "purchase", "within": "1 day"}},
        }
    )
    with pytest.raises(RuleErrors) as caught:
        validate_segment(segment)
    assert 'unknown event kind "add_to_kart"' in str(caught.value)
    assert 'Did you mean "add_to_cart"?' in str(caught.value)


def test_validation_same_event_twice() -> None:
    segment = load_segment(
        {
            "id": "carts",
            "name": "Carts",
            "condition": {"sequence": {"first": "purchase", "then_not": "purchase", "within": "1 day"}},
        }
    )
    problems = segment_problems(segment)
    assert [(problem.code, problem.location.pointer) for problem in problems] == [
        ("sequence_same_event", "/condition")
    ]


@pytest.mark.parametrize(
    ("dialect", "spelling"),
    [
        ("sqlite", "strftime("),
        ("mariadb", "DATE_ADD(sequence_first.time, INTERVAL"),
        ("postgresql", "* INTERVAL '1 second'"),
    ],
)
def test_sql_binds_the_rule_values(dialect: str, spelling: str) -> None:
    text = compile_to_text(RULE, ProfileModel(get_registry()), dialect, as_of=datetime(2024, 3, 1, tzinfo=UTC))
    assert spelling in text
    assert "add_to_cart" not in text.split("-- parameters:")[0]
    assert "259200" not in text.split("-- parameters:")[0]


def test_explanation_gives_result() -> None:
    profile = coerce_profile(
        {"id": "p1", "events": [{"kind": "add_to_cart", "time": "2024-02-01T00:00:00Z", "product_id": "9"}]},
        get_registry(),
    )
    explanation = explain(RULE, profile, as_of=datetime(2024, 2, 10, tzinfo=UTC))
    assert explanation.result is True
    assert explanation.label.startswith('use sequence {"first": "add_to_cart"')
