"""Identities between the rule forms, checked on generated rules.

DSL: ``parse(format(node)) == node`` and ``format(parse(text)) == text`` for formatted
text. JSON and DSL: a canonical JSON document survives a trip through the DSL, and
formatted DSL text survives a trip through JSON, also through ``segmento convert``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segmento.cli.convert_command import converted_text
from segmento.cli.rule_input import RuleFile
from segmento.engine.ast import Condition, Segment, walk
from segmento.engine.dsl.formatter import format_condition, format_segment, format_segments
from segmento.engine.dsl.parser import parse_condition, parse_segment, parse_segments
from segmento.engine.errors import SegmentoError
from segmento.engine.jsonform import dump_segment, dumps_segment, dumps_segments, load_segment, load_segments
from segmento.engine.operators import OperatorSpec
from tests.strategies import conditions, segments
from tests.test_dsl_parser import DESIGN_EXAMPLE

PLUGIN_OPERATORS = (
    OperatorSpec("matches_domain", "scalar", text_options=True),
    OperatorSpec("within_radius", "pair"),
    OperatorSpec("has_tag", "none"),
    OperatorSpec("repeats_every", "duration"),
    OperatorSpec("active_during", "period"),
)
"""Operators as a plugin would add them; the DSL writes them as ``@name``."""

# Generated rules are large and slow to shrink; no example may fail for taking long.
PROPERTY = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(segments(extra_operators=PLUGIN_OPERATORS, unusual=True))
def test_parse_inverts_format(segment: Segment) -> None:
    text = format_segment(segment)

    assert parse_segment(text) == segment


@PROPERTY
@given(segments(extra_operators=PLUGIN_OPERATORS, unusual=True))
def test_formatted_text_is_a_fixed_point(segment: Segment) -> None:
    text = format_segment(segment)

    assert format_segment(parse_segment(text)) == text


@PROPERTY
@given(conditions(extra_operators=PLUGIN_OPERATORS, unusual=True))
def test_condition_round_trip(condition: Condition) -> None:
    text = format_condition(condition)

    assert parse_condition(text) == condition
    assert format_condition(parse_condition(text)) == text


@PROPERTY
@given(st.lists(segments(), max_size=4))
def test_file_of_segments_round_trip(many: list[Segment]) -> None:
    text = format_segments(many)

    assert parse_segments(text, source="rules.seg") == many
    assert format_segments(parse_segments(text)) == text


@PROPERTY
@given(segments())
def test_parsed_nodes_have_locations(segment: Segment) -> None:
    parsed = parse_segment(format_segment(segment), source="gen.seg")

    for node in walk(parsed):
        assert node.loc.source == "gen.seg"
        assert node.loc.line is not None


@PROPERTY
@given(segments())
def test_json_through_dsl_is_identity(segment: Segment) -> None:
    document = dump_segment(load_segment(dumps_segment(segment)))

    through_dsl = parse_segment(format_segment(load_segment(document)))

    # Numbers compare by value, as JSON numbers do: the DSL writes Decimal("5") as 5.0.
    assert dump_segment(through_dsl) == document


@PROPERTY
@given(segments())
def test_dsl_through_json_is_identity(segment: Segment) -> None:
    dsl_text = format_segment(segment)

    through_json = load_segment(dumps_segment(parse_segment(dsl_text)))

    assert format_segment(through_json) == dsl_text


def rule_file(name: str, text: str, segments: list[Segment]) -> RuleFile:
    return RuleFile(Path(name), text.encode("utf-8"), text, segments)


@PROPERTY
@given(st.lists(segments(), min_size=1, max_size=3))
def test_convert_dsl_to_json_and_back(many: list[Segment]) -> None:
    dsl_text = format_segments(many)
    dsl_file = rule_file("rules.seg", dsl_text, parse_segments(dsl_text))

    json_text = converted_text(dsl_file, "json")
    json_file = rule_file("rules.json", json_text, load_segments(json_text))

    assert json_file.segments == many
    assert converted_text(json_file, "dsl") == dsl_text


@PROPERTY
@given(st.lists(segments(), min_size=1, max_size=3))
def test_convert_json_to_dsl_and_back(many: list[Segment]) -> None:
    json_text = dumps_segments(many) + "\n"
    json_file = rule_file("rules.json", json_text, load_segments(json_text))

    dsl_text = converted_text(json_file, "dsl")
    dsl_file = rule_file("rules.seg", dsl_text, parse_segments(dsl_text))
    back = converted_text(dsl_file, "json")

    assert dsl_file.segments == many
    # Numbers compare by value, as JSON numbers do: the DSL writes Decimal("5") as 5.0.
    assert load_segments(back) == load_segments(json_text)


@PROPERTY
@given(segments(extra_operators=PLUGIN_OPERATORS, unusual=True))
def test_convert_never_changes_a_rule(segment: Segment) -> None:
    dsl_text = format_segment(segment)
    dsl_file = rule_file("rule.seg", dsl_text, [parse_segment(dsl_text)])

    try:
        json_text = converted_text(dsl_file, "json")
    except SegmentoError:
        # A rule that only the DSL can hold is rejected, never written differently.
        return

    assert load_segments(json_text) == [segment]


def test_design_example_equals_its_json_form() -> None:
    document: dict[str, Any] = {
        "id": "vip_hanoi",
        "name": "Khách VIP Hà Nội",
        "description": "Đã chi trên 5 triệu và sống ở Hà Nội",
        "condition": {
            "all": [
                {"field": "total_purchase_value", "operator": "gte", "type": "integer", "value": 5_000_000},
                {
                    "field": "city",
                    "operator": "eq",
                    "type": "string",
                    "value": "ha noi",
                    "ignore_case": True,
                    "ignore_accents": True,
                },
                {
                    "any": [
                        {
                            "field": "long_term_interests",
                            "operator": "contains_any",
                            "type": "string",
                            "value": ["giày", "túi xách"],
                        },
                        {
                            "field": "product_views",
                            "include": ["1234", "5678"],
                            "operator": "gte",
                            "type": "integer",
                            "value": 3,
                        },
                    ]
                },
                {"none": [{"field": "status", "operator": "eq", "type": "string", "value": "lapsed"}]},
                {
                    "event": "add_to_cart",
                    "aggregate": "count",
                    "operator": "gte",
                    "type": "integer",
                    "value": 1,
                    "in_last": {"amount": 7, "unit": "days"},
                },
                {
                    "event": "purchase",
                    "aggregate": "count",
                    "operator": "eq",
                    "type": "integer",
                    "value": 0,
                    "in_last": {"amount": 7, "unit": "days"},
                },
                {"field": "birthday", "operator": "birthday_in_next", "type": "integer", "value": 30},
                {"segment": "blocked_customers", "not": True},
            ]
        },
    }

    from_dsl = parse_segment(DESIGN_EXAMPLE)

    assert from_dsl == load_segment(document)
    assert dump_segment(from_dsl) == document
