"""Explanations: the tree, its reasons, its JSON form, and agreement with the predicate."""

from __future__ import annotations

import json
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from segmento.engine.ast import (
    Comparison,
    Condition,
    EventCondition,
    Group,
    Node,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.errors import Location
from segmento.engine.evaluator import compile_predicate
from segmento.engine.explain import Explanation, explain
from segmento.engine.profiles import coerce_profile
from segmento.engine.registry import Registry, get_registry
from segmento.engine.values import CalendarPeriod, Duration
from tests.cases import Case, all_cases, case_registry

AS_OF = datetime(2024, 5, 15, 5, 0, tzinfo=UTC)
FOLDED = TextOptions(ignore_case=True, ignore_accents=True)

EXTRA_FIELDS = """\
fields:
  is_subscribed: boolean
  tags: string_list
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    path: Path = tmp_path_factory.mktemp("catalog") / "fields.yaml"
    path.write_text(EXTRA_FIELDS, encoding="utf-8")
    return get_registry().with_catalog_file(path)


RAW_PROFILES: list[dict[str, Any]] = [
    {"id": "empty"},
    {
        "id": "hanoi",
        "city": "Hà Nội",
        "total_purchase": 12,
        "total_purchase_value": "6000000.00",
        "birthday": "1990-05-20",
        "last_purchase_at": "2024-05-14T17:00:00Z",
        "tags": ["vip", "Giày"],
        "is_subscribed": True,
        "product_views": {"1234": 2, "5678": 1},
        "long_term_interests": {"toys": "1.5"},
        "short_term_interests": ["toys", "home"],
        "segments": ["vip"],
        "events": [
            {"kind": "add_to_cart", "time": "2024-05-13T03:00:00Z", "product_id": "1234", "category": "toys.lego"},
            {"kind": "add_to_cart", "time": "2024-05-14T16:59:59Z", "product_id": "5678", "category": "toys"},
            {"kind": "purchase", "time": "2024-05-01T03:00:00Z", "price": "250000", "quantity": 2},
        ],
    },
    {
        "id": "hue",
        "city": "Huế",
        "total_purchase": 0,
        "total_purchase_value": "0",
        "birthday": "2000-02-29",
        "last_purchase_at": "2023-01-01T00:00:00Z",
        "tags": [],
        "is_subscribed": False,
        "product_views": {},
        "short_term_interests": ["books"],
        "segments": ["blocked"],
        "events": [{"kind": "purchase", "time": "2024-05-16T00:00:00Z", "price": "10", "quantity": 1}],
    },
    {"id": "nulls", "city": None, "tags": None, "birthday": None, "product_views": None, "segments": None},
    {"id": "blank", "city": "", "total_purchase": 3, "birthday": "2006-05-15", "tags": ["giay"]},
]

LEAVES: list[Condition] = [
    Comparison("city", "eq", "Hà Nội"),
    Comparison("city", "ne", "Hà Nội"),
    Comparison("city", "eq", "ha noi", options=FOLDED),
    Comparison("city", "in", ("Huế", "")),
    Comparison("city", "not_in", ("Huế",)),
    Comparison("city", "contains", ""),
    Comparison("city", "not_contains", "Nội"),
    Comparison("city", "starts_with", "H"),
    Comparison("city", "is_set"),
    Comparison("city", "is_not_set"),
    Comparison("total_purchase", "gte", 3),
    Comparison("total_purchase", "between", (0, 3)),
    Comparison("total_purchase", "not_between", (0, 3)),
    Comparison("total_purchase_value", "gt", Decimal("5000000")),
    Comparison("is_subscribed", "ne", True),
    Comparison("birthday", "before", date(2000, 1, 1)),
    Comparison("birthday", "in_next", Duration(7, "days")),
    Comparison("birthday", "birthday_in_next", 7),
    Comparison("birthday", "birthday_today"),
    Comparison("birthday", "birthday_in_month", 2),
    Comparison("age", "gte", 18),
    Comparison("age", "lt", 18),
    Comparison("last_purchase_at", "in_last", Duration(1, "days")),
    Comparison("last_purchase_at", "not_in_last", Duration(30, "days")),
    Comparison("last_purchase_at", "on", date(2024, 5, 15)),
    Comparison("last_purchase_at", "in_period", CalendarPeriod("this_month")),
    Comparison("tags", "contains_any", ("giay",), options=FOLDED),
    Comparison("tags", "contains_none", ("vip",)),
    Comparison("tags", "contains_all", ("vip", "Giày")),
    Comparison("tags", "is_empty"),
    Comparison("tags", "is_not_empty"),
    Comparison("product_views", "gte", 3, include=("1234", "5678")),
    Comparison("product_views", "eq", 0, include=("9",)),
    Comparison("long_term_interests", "lt", Decimal("2"), include=("toys",)),
    Comparison("short_term_interests", "lte", 1, include=("toys", "books")),
    Comparison("short_term_interests", "ne", 2, include=("home",)),
    EventCondition("add_to_cart", "count", "gte", 1, window=Duration(7, "days")),
    EventCondition("add_to_cart", "count", "eq", 0, categories=("toys",), window=CalendarPeriod("today")),
    EventCondition("purchase", "sum", "gte", 500000, measure="value"),
    EventCondition("purchase", "count", "ne", 0),
    SegmentRef("vip"),
    SegmentRef("blocked", negated=True),
]


def build_rule(seed: int) -> Condition:
    chooser = random.Random(seed)

    def build(depth: int) -> Condition:
        if depth == 0 or chooser.random() < 0.35:
            return chooser.choice(LEAVES)
        kind = chooser.choice(["all", "any", "none"])
        children = tuple(build(depth - 1) for _ in range(chooser.randint(1, 4)))
        return Group(kind, children, negated=chooser.random() < 0.25)  # type: ignore[arg-type]

    return build(3)


def profiles(registry: Registry) -> list[dict[str, Any]]:
    return [coerce_profile(raw, registry) for raw in RAW_PROFILES]


def assert_agrees(registry: Registry, node: Node, explanation: Explanation, profile: dict[str, Any]) -> None:
    """Check that every node of ``explanation`` has the compiled predicate's result."""
    expected = compile_predicate(node, registry, as_of=AS_OF)(profile)
    assert explanation.result is expected, (profile["id"], node)
    children = node.children()
    assert len(explanation.children) == len(children)
    for child_node, child in zip(children, explanation.children):
        assert_agrees(registry, child_node, child, profile)


def test_every_leaf_agrees_with_predicate(registry: Registry) -> None:
    for profile in profiles(registry):
        for leaf in LEAVES:
            explanation = explain(leaf, profile, registry=registry, as_of=AS_OF)
            assert_agrees(registry, leaf, explanation, profile)


@pytest.mark.parametrize("seed", range(60))
def test_random_rules_agree_with_predicate(registry: Registry, seed: int) -> None:
    segment = Segment(f"s{seed}", "random", build_rule(seed))
    for profile in profiles(registry):
        explanation = explain(segment, profile, registry=registry, as_of=AS_OF)
        assert_agrees(registry, segment, explanation, profile)


@pytest.mark.parametrize("case", [item for item in all_cases() if item.mark_for("memory") is None],
                         ids=lambda item: item.id)
def test_case_table_rules_agree_with_predicate(case: Case) -> None:
    registry = case_registry()
    for raw in case.profiles:
        profile = coerce_profile(raw, registry)
        explanation = explain(case.rule, profile, registry=registry, as_of=case.as_of, timezone=case.timezone)
        expected = compile_predicate(case.rule, registry, as_of=case.as_of, timezone=case.timezone)(profile)
        assert explanation.result is expected, profile["id"]


# --- reasons ----------------------------------------------------------------------------------


def explain_one(registry: Registry, node: Node, **fields: Any) -> Explanation:
    profile = coerce_profile({"id": "p1", **fields}, registry)
    return explain(node, profile, registry=registry, as_of=AS_OF)


def test_missing_value_reason(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("city", "eq", "Hà Nội"))
    assert explanation.result is False
    assert explanation.label == 'city = "Hà Nội"'
    assert explanation.reason == 'city is missing, so = "Hà Nội" is false'
    assert explanation.tested is None
    assert explanation.expected == "Hà Nội"


def test_negative_operator_on_missing_value_reason(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("city", "ne", "Hà Nội"))
    assert explanation.result is True
    assert explanation.reason == 'city is missing, so != "Hà Nội" is true'


def test_event_count_reason(registry: Registry) -> None:
    condition = EventCondition("add_to_cart", "count", "gte", 1, window=Duration(7, "days"))
    events = [
        {"kind": "add_to_cart", "time": "2024-05-10T00:00:00Z"},
        {"kind": "add_to_cart", "time": "2024-05-14T00:00:00Z"},
        {"kind": "add_to_cart", "time": "2024-05-01T00:00:00Z"},
    ]
    explanation = explain_one(registry, condition, events=events)
    assert explanation.result is True
    assert explanation.label == "count(add_to_cart) in last 7 days >= 1"
    assert explanation.reason == "count(add_to_cart) in last 7 days is 2, which is >= 1"
    assert explanation.tested == 2


def test_failed_comparison_reason(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("total_purchase_value", "gte", 5_000_000),
                              total_purchase_value="4999999.99")
    assert explanation.result is False
    assert explanation.reason == "total_purchase_value is 4999999.99, which is not >= 5000000"
    assert explanation.tested == Decimal("4999999.99")


def test_text_options_in_label(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("city", "eq", "ha noi", options=FOLDED), city="Hà Nội")
    assert explanation.label == 'city = "ha noi" ignoring case, accents'
    assert explanation.result is True


def test_window_reason_shows_bounds(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("last_purchase_at", "in_last", Duration(1, "days")),
                              last_purchase_at="2024-05-14T06:00:00Z")
    assert explanation.result is True
    assert explanation.reason == (
        "last_purchase_at is 2024-05-14T06:00:00+00:00, so in last 1 day is true "
        "(window (2024-05-14T05:00:00+00:00, 2024-05-15T05:00:00+00:00])"
    )


def test_ranked_reason_when_no_key_is_ranked(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("short_term_interests", "lte", 2, include=("shoes",)),
                              short_term_interests=["toys"])
    assert explanation.result is False
    assert explanation.reason == "none of the keys of short_term_interests[shoes] is ranked, so <= 2 is false"


def test_between_label(registry: Registry) -> None:
    explanation = explain_one(registry, Comparison("age", "between", (18, 30)), birthday="2000-01-01")
    assert explanation.label == "age between 18 and 30"
    assert explanation.reason == "age is 24, so between 18 and 30 is true"


def test_segment_ref_reasons(registry: Registry) -> None:
    assert explain_one(registry, SegmentRef("vip")).reason == "the profile belongs to no segment"
    member = explain_one(registry, SegmentRef("vip", negated=True), segments=["vip"])
    assert member.result is False
    assert member.label == "not in segment vip"
    assert member.reason == "the profile's segments include vip"


def test_group_reasons(registry: Registry) -> None:
    hanoi = Comparison("city", "eq", "Hà Nội")
    big = Comparison("total_purchase", "gte", 10)
    assert explain_one(registry, Group("all", (hanoi, big)), city="Hà Nội").reason == "1 of 2 conditions is false"
    assert explain_one(registry, Group("any", (hanoi, big))).reason == "no condition is true"
    none_group = explain_one(registry, Group("none", (hanoi,), negated=True), city="Hà Nội")
    assert none_group.result is True
    assert none_group.label == "not none of"
    assert none_group.reason == "1 of 1 condition is true, and 'not' inverts the group"


# --- rendering and JSON ---------------------------------------------------------------------------


def test_render_tree(registry: Registry) -> None:
    segment = Segment(
        "vip_hanoi",
        "Khách VIP Hà Nội",
        Group("all", (Comparison("city", "eq", "Hà Nội"), Group("none", (SegmentRef("blocked"),)))),
    )
    text = explain_one(registry, segment, city="Hà Nội").render()
    assert text.splitlines() == [
        "✓ segment vip_hanoi: the profile is in the segment",
        "  ✓ all of: all 2 conditions are true",
        '    ✓ city = "Hà Nội": city is "Hà Nội", which is = "Hà Nội"',
        "    ✓ none of: no condition is true",
        "      ✗ in segment blocked: the profile belongs to no segment",
    ]


def test_to_dict_is_json(registry: Registry) -> None:
    condition = Group(
        "all",
        (
            Comparison("total_purchase_value", "gte", Decimal("5000000"), loc=Location(pointer="/condition/all/0")),
            Comparison("birthday", "before", date(2000, 1, 1)),
        ),
        loc=Location(pointer="/condition"),
    )
    explanation = explain_one(registry, condition, total_purchase_value="6000000.50", birthday="1990-05-20")
    document = json.loads(json.dumps(explanation.to_dict(), ensure_ascii=False))
    assert document["result"] is True
    assert document["location"] == "/condition"
    first, second = document["children"]
    assert first["tested"] == "6000000.50"
    assert first["expected"] == "5000000"
    assert first["location"] == "/condition/all/0"
    assert second["tested"] == "1990-05-20"
    assert second["expected"] == "2000-01-01"
    assert second["children"] == []
