"""The in-memory evaluator: operators by field type, missing values, text, lists, maps, events."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from segmento.engine.ast import Comparison, EventCondition, Group, Segment, SegmentRef, TextOptions
from segmento.engine.errors import DataError, Location, RuleSemanticError, UnsupportedError
from segmento.engine.evaluator import MemoryCompiler, compile_predicate, select
from segmento.engine.hookspecs import hookimpl
from segmento.engine.operators import OperatorSpec
from segmento.engine.profiles import coerce_profile
from segmento.engine.registry import Registry, build_registry, get_registry, make_plugin_manager
from segmento.engine.values import Duration
from tests.cases import Case, all_cases, case_registry

AS_OF = datetime(2024, 5, 15, 5, 0, tzinfo=UTC)  # 12:00 in Hồ Chí Minh City
CASE = TextOptions(ignore_case=True)
ACCENTS = TextOptions(ignore_accents=True)
CASE_ACCENTS = TextOptions(ignore_case=True, ignore_accents=True)

EXTRA_FIELDS = """\
fields:
  is_subscribed: boolean
  tags: string_list
  lucky_numbers: number_list
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Registry:
    path: Path = tmp_path_factory.mktemp("catalog") / "fields.yaml"
    path.write_text(EXTRA_FIELDS, encoding="utf-8")
    return get_registry().with_catalog_file(path)


def make_profile(registry: Registry, **fields: Any) -> dict[str, Any]:
    return coerce_profile({"id": "p1", **fields}, registry)


def matches(registry: Registry, condition: Any, fields: Mapping[str, Any]) -> bool:
    predicate = compile_predicate(condition, registry, as_of=AS_OF)
    return predicate(make_profile(registry, **fields))


def check(registry: Registry, condition: Any, fields: Mapping[str, Any], expected: bool) -> None:
    assert matches(registry, condition, fields) is expected


# --- strings ----------------------------------------------------------------------------

STRING_CASES = [
    ("eq-equal", Comparison("city", "eq", "Hà Nội"), {"city": "Hà Nội"}, True),
    ("eq-other", Comparison("city", "eq", "Hà Nội"), {"city": "Huế"}, False),
    ("eq-missing", Comparison("city", "eq", "Hà Nội"), {}, False),
    ("eq-null", Comparison("city", "eq", "Hà Nội"), {"city": None}, False),
    ("eq-exact-accents", Comparison("city", "eq", "ha noi"), {"city": "Hà Nội"}, False),
    ("eq-empty-string", Comparison("city", "eq", ""), {"city": ""}, True),
    ("ne-missing", Comparison("city", "ne", "Hà Nội"), {}, True),
    ("ne-null", Comparison("city", "ne", "Hà Nội"), {"city": None}, True),
    ("ne-equal", Comparison("city", "ne", "Hà Nội"), {"city": "Hà Nội"}, False),
    ("ne-other", Comparison("city", "ne", "Hà Nội"), {"city": "Huế"}, True),
    ("is_set-empty-string", Comparison("city", "is_set"), {"city": ""}, True),
    ("is_set-missing", Comparison("city", "is_set"), {}, False),
    ("is_not_set-null", Comparison("city", "is_not_set"), {"city": None}, True),
    ("is_not_set-empty-string", Comparison("city", "is_not_set"), {"city": ""}, False),
    ("in-member", Comparison("city", "in", ("Hà Nội", "Huế")), {"city": "Huế"}, True),
    ("in-other", Comparison("city", "in", ("Hà Nội", "Huế")), {"city": "Đà Nẵng"}, False),
    ("in-missing", Comparison("city", "in", ("Hà Nội",)), {}, False),
    ("not_in-missing", Comparison("city", "not_in", ("Hà Nội",)), {}, True),
    ("not_in-member", Comparison("city", "not_in", ("Hà Nội",)), {"city": "Hà Nội"}, False),
    ("contains", Comparison("city", "contains", "Nội"), {"city": "Hà Nội"}, True),
    ("contains-empty-value", Comparison("city", "contains", ""), {"city": "Huế"}, True),
    ("contains-empty-on-missing", Comparison("city", "contains", ""), {}, False),
    ("not_contains-missing", Comparison("city", "not_contains", "Nội"), {}, True),
    ("not_contains-present", Comparison("city", "not_contains", "Nội"), {"city": "Hà Nội"}, False),
    ("starts_with", Comparison("city", "starts_with", "Hà"), {"city": "Hà Nội"}, True),
    ("starts_with-no", Comparison("city", "starts_with", "Nội"), {"city": "Hà Nội"}, False),
    ("ends_with", Comparison("city", "ends_with", "Nội"), {"city": "Hà Nội"}, True),
    ("ends_with-missing", Comparison("city", "ends_with", "Nội"), {}, False),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), [case[1:] for case in STRING_CASES],
                         ids=[case[0] for case in STRING_CASES])
def test_string_operators(
    registry: Registry, condition: Comparison, fields: dict[str, Any], expected: bool
) -> None:
    check(registry, condition, fields, expected)


TEXT_OPTION_CASES = [
    ("case-accents", Comparison("city", "eq", "ha noi", options=CASE_ACCENTS), "Hà Nội", True),
    ("case-only-keeps-accents", Comparison("city", "eq", "ha noi", options=CASE), "Hà Nội", False),
    ("case-only", Comparison("city", "eq", "hà nội", options=CASE), "HÀ NỘI", True),
    ("accents-only", Comparison("city", "eq", "Ha Noi", options=ACCENTS), "Hà Nội", True),
    ("accents-only-keeps-case", Comparison("city", "eq", "ha noi", options=ACCENTS), "Hà Nội", False),
    ("d-stroke", Comparison("city", "eq", "da nang", options=CASE_ACCENTS), "Đà Nẵng", True),
    ("d-stroke-lower", Comparison("name", "contains", "duong", options=ACCENTS), "Lê đường", True),
    ("in-folded", Comparison("city", "in", ("ha noi", "hue"), options=CASE_ACCENTS), "Huế", True),
    ("contains-folded", Comparison("city", "contains", "NOI", options=CASE_ACCENTS), "Hà Nội", True),
    ("starts_with-folded", Comparison("city", "starts_with", "ĐÀ", options=CASE), "đà nẵng", True),
    ("ends_with-folded", Comparison("city", "ends_with", "nang", options=CASE_ACCENTS), "Đà Nẵng", True),
    ("ne-folded", Comparison("city", "ne", "HA NOI", options=CASE_ACCENTS), "Hà Nội", False),
]


@pytest.mark.parametrize(("condition", "city", "expected"), [case[1:] for case in TEXT_OPTION_CASES],
                         ids=[case[0] for case in TEXT_OPTION_CASES])
def test_text_options(registry: Registry, condition: Comparison, city: str, expected: bool) -> None:
    check(registry, condition, {condition.field: city}, expected)


def test_nfd_profile_matches_nfc_rule(registry: Registry) -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    assert decomposed != "Hà Nội"
    check(registry, Comparison("city", "eq", "Hà Nội"), {"city": decomposed}, True)


def test_nfd_rule_value_matches_nfc_profile(registry: Registry) -> None:
    decomposed = unicodedata.normalize("NFD", "Hà Nội")
    check(registry, Comparison("city", "eq", decomposed), {"city": "Hà Nội"}, True)
    check(registry, Comparison("city", "in", (decomposed,)), {"city": "Hà Nội"}, True)


SPECIAL_CHARACTER_CASES = [
    ("percent", "contains", "50%", "sale 50% off", True),
    ("percent-not-wildcard", "contains", "5%f", "sale 50% off", False),
    ("underscore", "contains", "a_b", "xa_by", True),
    ("underscore-not-wildcard", "contains", "a_b", "xacby", False),
    ("dot", "starts_with", "a.b", "a.b.c", True),
    ("dot-not-wildcard", "starts_with", "a.b", "axb.c", False),
    ("star", "ends_with", "*", "5*", True),
    ("star-not-wildcard", "eq", "*", "anything", False),
    ("ampersand", "eq", "Tom & Jerry", "Tom & Jerry", True),
    ("quote", "contains", "O'B", "Mary O'Brien", True),
    ("quote-eq", "eq", "O'Brien", "OBrien", False),
    ("backslash", "contains", "\\", "a\\b", True),
]


@pytest.mark.parametrize(("operator", "value", "name", "expected"), [case[1:] for case in SPECIAL_CHARACTER_CASES],
                         ids=[case[0] for case in SPECIAL_CHARACTER_CASES])
def test_special_characters_match_themselves(
    registry: Registry, operator: str, value: str, name: str, expected: bool
) -> None:
    check(registry, Comparison("name", operator, value), {"name": name}, expected)


# --- numbers and booleans -----------------------------------------------------------------

NUMBER_CASES = [
    ("gt", Comparison("total_purchase", "gt", 3), {"total_purchase": 4}, True),
    ("gt-equal", Comparison("total_purchase", "gt", 3), {"total_purchase": 3}, False),
    ("gte-equal", Comparison("total_purchase", "gte", 3), {"total_purchase": 3}, True),
    ("lt", Comparison("total_purchase", "lt", 3), {"total_purchase": 2}, True),
    ("lte-equal", Comparison("total_purchase", "lte", 3), {"total_purchase": 3}, True),
    ("lt-missing", Comparison("total_purchase", "lt", 3), {}, False),
    ("lt-zero-is-present", Comparison("total_purchase", "lt", 3), {"total_purchase": 0}, True),
    ("eq-zero", Comparison("total_purchase", "eq", 0), {"total_purchase": 0}, True),
    ("eq-zero-missing", Comparison("total_purchase", "eq", 0), {}, False),
    ("ne-zero-missing", Comparison("total_purchase", "ne", 0), {}, True),
    ("between-low", Comparison("total_purchase", "between", (2, 5)), {"total_purchase": 2}, True),
    ("between-high", Comparison("total_purchase", "between", (2, 5)), {"total_purchase": 5}, True),
    ("between-below", Comparison("total_purchase", "between", (2, 5)), {"total_purchase": 1}, False),
    ("between-above", Comparison("total_purchase", "between", (2, 5)), {"total_purchase": 6}, False),
    ("between-missing", Comparison("total_purchase", "between", (2, 5)), {}, False),
    ("not_between-missing", Comparison("total_purchase", "not_between", (2, 5)), {}, True),
    ("not_between-inside", Comparison("total_purchase", "not_between", (2, 5)), {"total_purchase": 5}, False),
    ("not_between-outside", Comparison("total_purchase", "not_between", (2, 5)), {"total_purchase": 6}, True),
    ("in", Comparison("total_purchase", "in", (1, 2, 3)), {"total_purchase": 2}, True),
    ("not_in-missing", Comparison("total_purchase", "not_in", (1, 2)), {}, True),
    ("integer-from-numeric-string", Comparison("total_purchase", "eq", 12), {"total_purchase": "12"}, True),
    (
        "decimal-from-numeric-string",
        Comparison("total_purchase_value", "gte", 5_000_000),
        {"total_purchase_value": "5000000.00"},
        True,
    ),
    (
        "decimal-exact",
        Comparison("total_purchase_value", "gt", Decimal("0.3")),
        {"total_purchase_value": "0.30000000000000001"},
        True,
    ),
    (
        "decimal-trailing-zeros-equal",
        Comparison("avg_purchase_value", "eq", Decimal("2.5")),
        {"avg_purchase_value": "2.50"},
        True,
    ),
    (
        "decimal-in-ignores-scale",
        Comparison("avg_purchase_value", "in", (Decimal("2.50"), Decimal("7"))),
        {"avg_purchase_value": "2.5"},
        True,
    ),
    (
        "decimal-between-bounds",
        Comparison("avg_purchase_value", "between", (Decimal("0.1"), Decimal("0.2"))),
        {"avg_purchase_value": "0.2"},
        True,
    ),
    (
        "decimal-just-above",
        Comparison("avg_purchase_value", "lte", Decimal("0.2")),
        {"avg_purchase_value": "0.2000000001"},
        False,
    ),
    ("decimal-int-rule-value", Comparison("avg_purchase_value", "eq", 3), {"avg_purchase_value": "3.000"}, True),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), [case[1:] for case in NUMBER_CASES],
                         ids=[case[0] for case in NUMBER_CASES])
def test_number_operators(
    registry: Registry, condition: Comparison, fields: dict[str, Any], expected: bool
) -> None:
    check(registry, condition, fields, expected)


BOOLEAN_CASES = [
    ("eq-true", Comparison("is_subscribed", "eq", True), {"is_subscribed": True}, True),
    ("eq-false-on-false", Comparison("is_subscribed", "eq", False), {"is_subscribed": False}, True),
    ("eq-false-on-missing", Comparison("is_subscribed", "eq", False), {}, False),
    ("ne-true-on-missing", Comparison("is_subscribed", "ne", True), {}, True),
    ("ne-true-on-false", Comparison("is_subscribed", "ne", True), {"is_subscribed": False}, True),
    ("is_set-false", Comparison("is_subscribed", "is_set"), {"is_subscribed": False}, True),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), [case[1:] for case in BOOLEAN_CASES],
                         ids=[case[0] for case in BOOLEAN_CASES])
def test_boolean_operators(
    registry: Registry, condition: Comparison, fields: dict[str, Any], expected: bool
) -> None:
    check(registry, condition, fields, expected)


# --- lists and maps -------------------------------------------------------------------------

LIST_CASES = [
    ("any-hit", Comparison("tags", "contains_any", ("vip", "new")), {"tags": ["new"]}, True),
    ("any-miss", Comparison("tags", "contains_any", ("vip",)), {"tags": ["new"]}, False),
    ("any-missing", Comparison("tags", "contains_any", ("vip",)), {}, False),
    ("any-empty", Comparison("tags", "contains_any", ("vip",)), {"tags": []}, False),
    ("any-folded", Comparison("tags", "contains_any", ("giay",), options=CASE_ACCENTS), {"tags": ["Giày"]}, True),
    ("any-exact", Comparison("tags", "contains_any", ("giay",)), {"tags": ["Giày"]}, False),
    ("all-hit", Comparison("tags", "contains_all", ("a", "b")), {"tags": ["b", "c", "a"]}, True),
    ("all-partial", Comparison("tags", "contains_all", ("a", "b")), {"tags": ["a"]}, False),
    ("all-missing", Comparison("tags", "contains_all", ("a",)), {"tags": None}, False),
    ("all-folded", Comparison("tags", "contains_all", ("A", "B"), options=CASE), {"tags": ["a", "b"]}, True),
    ("all-folded-partial", Comparison("tags", "contains_all", ("A", "C"), options=CASE), {"tags": ["a", "b"]}, False),
    ("any-folded-miss", Comparison("tags", "contains_any", ("giày",), options=CASE), {"tags": ["Giay"]}, False),
    ("none-folded", Comparison("tags", "contains_none", ("GIAY",), options=CASE_ACCENTS), {"tags": ["giày"]}, False),
    ("none-missing", Comparison("tags", "contains_none", ("a",)), {}, True),
    ("none-empty", Comparison("tags", "contains_none", ("a",)), {"tags": []}, True),
    ("none-hit", Comparison("tags", "contains_none", ("a",)), {"tags": ["a"]}, False),
    ("none-miss", Comparison("tags", "contains_none", ("a",)), {"tags": ["b"]}, True),
    ("is_empty-missing", Comparison("tags", "is_empty"), {}, True),
    ("is_empty-null", Comparison("tags", "is_empty"), {"tags": None}, True),
    ("is_empty-empty", Comparison("tags", "is_empty"), {"tags": []}, True),
    ("is_empty-member", Comparison("tags", "is_empty"), {"tags": ["a"]}, False),
    ("is_not_empty-empty", Comparison("tags", "is_not_empty"), {"tags": []}, False),
    ("is_not_empty-member", Comparison("tags", "is_not_empty"), {"tags": [""]}, True),
    ("numbers-any", Comparison("lucky_numbers", "contains_any", (Decimal("2.0"),)), {"lucky_numbers": [2, 7]}, True),
    ("numbers-all", Comparison("lucky_numbers", "contains_all", (7, Decimal("2"))), {"lucky_numbers": ["2", 7]}, True),
    ("map-keys-any", Comparison("product_views", "contains_any", ("85123A",)), {"product_views": {"85123A": 1}}, True),
    ("map-values-ignored", Comparison("product_views", "contains_any", ("1",)), {"product_views": {"a": 1}}, False),
    ("map-all", Comparison("long_term_interests", "contains_all", ("toys",)), {"long_term_interests": {"toys": 1.5}},
     True),
    ("map-is_empty", Comparison("long_term_interests", "is_empty"), {"long_term_interests": {}}, True),
    ("ranked-any", Comparison("short_term_interests", "contains_any", ("toys",)), {"short_term_interests": ["toys"]},
     True),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), [case[1:] for case in LIST_CASES],
                         ids=[case[0] for case in LIST_CASES])
def test_list_and_map_operators(
    registry: Registry, condition: Comparison, fields: dict[str, Any], expected: bool
) -> None:
    check(registry, condition, fields, expected)


VIEWS = {"product_views": {"1": 2, "2": 1}}
SCORES = {"long_term_interests": {"toys": "1.25", "home.kitchen": "2.5"}}
RANKS = {"short_term_interests": ["toys", "home", "books"]}

KEYED_CASES = [
    ("count-sum", Comparison("product_views", "gte", 3, include=("1", "2")), VIEWS, True),
    ("count-sum-short", Comparison("product_views", "gt", 3, include=("1", "2")), VIEWS, False),
    ("count-missing-key-zero", Comparison("product_views", "eq", 0, include=("9",)), VIEWS, True),
    ("count-missing-map-zero", Comparison("product_views", "lt", 1, include=("9",)), {}, True),
    ("count-null-map-zero", Comparison("product_views", "eq", 0, include=("9",)), {"product_views": None}, True),
    ("count-ne-zero-missing", Comparison("product_views", "ne", 0, include=("9",)), {}, False),
    ("count-key-exact", Comparison("product_views", "eq", 2, include=("01",)), VIEWS, False),
    ("count-between", Comparison("product_views", "between", (2, 3), include=("1", "9")), VIEWS, True),
    ("score-sum", Comparison("long_term_interests", "eq", Decimal("3.75"), include=("toys", "home.kitchen")), SCORES,
     True),
    ("score-not_between", Comparison("long_term_interests", "not_between", (1, 2), include=("toys",)), SCORES, False),
    ("rank-best", Comparison("short_term_interests", "eq", 2, include=("books", "home")), RANKS, True),
    ("rank-lte", Comparison("short_term_interests", "lte", 1, include=("home",)), RANKS, False),
    ("rank-none-ranked", Comparison("short_term_interests", "gte", 1, include=("shoes",)), RANKS, False),
    ("rank-ne-none-ranked", Comparison("short_term_interests", "ne", 1, include=("shoes",)), RANKS, True),
    ("rank-missing-list", Comparison("short_term_interests", "lte", 4, include=("toys",)), {}, False),
    ("rank-keys-exact", Comparison("short_term_interests", "eq", 1, include=("Toys",)), RANKS, False),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), [case[1:] for case in KEYED_CASES],
                         ids=[case[0] for case in KEYED_CASES])
def test_keyed_operators(
    registry: Registry, condition: Comparison, fields: dict[str, Any], expected: bool
) -> None:
    check(registry, condition, fields, expected)


# --- events -------------------------------------------------------------------------------

EVENTS = [
    {"kind": "purchase", "time": "2024-05-10T03:00:00Z", "product_id": "1", "category": "electronics.smartphone",
     "price": "10.50", "quantity": 2},
    {"kind": "purchase", "time": "2024-05-11T03:00:00Z", "product_id": "2", "category": "electronics",
     "price": "3", "quantity": 1},
    {"kind": "purchase", "time": "2024-05-12T03:00:00Z", "product_id": "3", "category": "electronicsx",
     "price": "100", "quantity": 1},
    {"kind": "purchase", "time": "2024-05-12T04:00:00Z", "product_id": "4", "category": "home.electronics",
     "price": "1000", "quantity": 1},
    {"kind": "purchase", "time": "2024-05-13T04:00:00Z", "product_id": 5},
    {"kind": "add_to_cart", "time": "2024-05-14T04:00:00Z", "product_id": "1", "category": "electronics.smartphone"},
    {"kind": "purchase", "time": "2024-05-20T03:00:00Z", "product_id": "1", "price": "99", "quantity": 1},
]

EVENT_CASES = [
    ("count-all-history", EventCondition("purchase", "count", "eq", 5), True),
    ("count-kind", EventCondition("add_to_cart", "count", "eq", 1), True),
    ("count-unknown-kind-zero", EventCondition("search", "count", "eq", 0), True),
    ("count-products", EventCondition("purchase", "count", "eq", 1, products=("1",)), True),
    ("count-products-int-id", EventCondition("purchase", "count", "eq", 1, products=("5",)), True),
    ("count-category-prefix", EventCondition("purchase", "count", "eq", 2, categories=("electronics",)), True),
    ("count-category-leaf", EventCondition("purchase", "count", "eq", 1, categories=("electronics.smartphone",)),
     True),
    ("count-category-two", EventCondition("purchase", "count", "eq", 3, categories=("electronicsx", "electronics")),
     True),
    ("sum-value", EventCondition("purchase", "sum", "eq", Decimal("1124"), measure="value"), True),
    ("sum-default-measure", EventCondition("purchase", "sum", "eq", Decimal("1124")), True),
    ("sum-quantity", EventCondition("purchase", "sum", "eq", 5, measure="quantity"), True),
    ("sum-price", EventCondition("purchase", "sum", "eq", Decimal("1113.5"), measure="price"), True),
    ("sum-category", EventCondition("purchase", "sum", "between", (24, 24), measure="value",
                                    categories=("electronics",)), True),
    ("sum-no-events-zero", EventCondition("search", "sum", "eq", 0, measure="value"), True),
    ("count-ne", EventCondition("purchase", "count", "ne", 5), False),
    ("count-not_between", EventCondition("purchase", "count", "not_between", (0, 4)), True),
    ("count-window", EventCondition("purchase", "count", "eq", 3, window=Duration(4, "days")), True),
]


@pytest.mark.parametrize(("condition", "expected"), [case[1:] for case in EVENT_CASES],
                         ids=[case[0] for case in EVENT_CASES])
def test_event_conditions(registry: Registry, condition: EventCondition, expected: bool) -> None:
    check(registry, condition, {"events": [dict(event) for event in EVENTS]}, expected)


def test_events_missing_count_zero(registry: Registry) -> None:
    check(registry, EventCondition("purchase", "count", "eq", 0), {}, True)
    check(registry, EventCondition("purchase", "count", "gte", 1), {"events": []}, False)
    check(registry, EventCondition("purchase", "count", "lt", 1), {"events": None}, True)


# --- segment references and groups ------------------------------------------------------------


def test_segment_references(registry: Registry) -> None:
    check(registry, SegmentRef("vip"), {"segments": ["vip", "new"]}, True)
    check(registry, SegmentRef("vip"), {"segments": ["new"]}, False)
    check(registry, SegmentRef("vip"), {}, False)
    check(registry, SegmentRef("vip", negated=True), {}, True)
    check(registry, SegmentRef("vip", negated=True), {"segments": ["vip"]}, False)


HANOI = Comparison("city", "eq", "Hà Nội")
BIG = Comparison("total_purchase", "gte", 10)

GROUP_CASES = [
    ("all-both", Group("all", (HANOI, BIG)), {"city": "Hà Nội", "total_purchase": 10}, True),
    ("all-one", Group("all", (HANOI, BIG)), {"city": "Hà Nội", "total_purchase": 9}, False),
    ("any-one", Group("any", (HANOI, BIG)), {"city": "Huế", "total_purchase": 10}, True),
    ("any-none", Group("any", (HANOI, BIG)), {"city": "Huế"}, False),
    ("none-none", Group("none", (HANOI, BIG)), {}, True),
    ("none-one", Group("none", (HANOI, BIG)), {"city": "Hà Nội"}, False),
    ("not-all", Group("all", (HANOI, BIG), negated=True), {"city": "Hà Nội"}, True),
    ("not-any", Group("any", (HANOI, BIG), negated=True), {}, True),
    ("not-none", Group("none", (HANOI,), negated=True), {"city": "Hà Nội"}, True),
    ("three", Group("all", (HANOI, BIG, Comparison("status", "eq", "active"))),
     {"city": "Hà Nội", "total_purchase": 11, "status": "active"}, True),
    ("three-any", Group("any", (HANOI, BIG, Comparison("status", "eq", "active"))), {"status": "active"}, True),
    ("nested", Group("all", (Group("any", (HANOI, BIG)), Group("none", (SegmentRef("blocked"),)))),
     {"total_purchase": 12, "segments": ["vip"]}, True),
    ("nested-blocked", Group("all", (Group("any", (HANOI, BIG)), Group("none", (SegmentRef("blocked"),)))),
     {"total_purchase": 12, "segments": ["blocked"]}, False),
]


@pytest.mark.parametrize(("condition", "fields", "expected"), [case[1:] for case in GROUP_CASES],
                         ids=[case[0] for case in GROUP_CASES])
def test_groups(
    registry: Registry, condition: Group, fields: dict[str, Any], expected: bool
) -> None:
    check(registry, condition, fields, expected)


def test_negative_operator_complements_positive_on_every_profile(registry: Registry) -> None:
    pairs = [
        ("eq", "ne", "Hà Nội"),
        ("in", "not_in", ("Hà Nội", "")),
        ("contains", "not_contains", "Nội"),
        ("is_set", "is_not_set", None),
    ]
    cities = [None, "", "Hà Nội", "Huế", unicodedata.normalize("NFD", "Hà Nội")]
    for positive, negative, value in pairs:
        for city in cities:
            fields = {} if city is None else {"city": city}
            left = matches(registry, Comparison("city", positive, value), fields)
            right = matches(registry, Comparison("city", negative, value), fields)
            assert left is not right, (positive, city)


# --- select and errors --------------------------------------------------------------------


def test_select_returns_ids_in_input_order(registry: Registry) -> None:
    profiles = [
        coerce_profile({"id": "c", "city": "Hà Nội"}, registry),
        coerce_profile({"id": "a", "city": "Huế"}, registry),
        coerce_profile({"id": 7, "city": "Hà Nội"}, registry),
        coerce_profile({"id": "b"}, registry),
    ]
    segment = Segment("hanoi", "Hà Nội", HANOI)
    assert select(segment, profiles, registry, as_of=AS_OF) == ["c", "7"]
    assert select(Comparison("city", "ne", "Hà Nội"), profiles, registry, as_of=AS_OF) == ["a", "b"]


def test_select_rejects_profile_without_id(registry: Registry) -> None:
    with pytest.raises(DataError, match="a profile that matches the segment has no id"):
        select(HANOI, [{"id": "a"}, {"city": "Hà Nội"}], registry, as_of=AS_OF)


def test_wrong_value_type_names_profile(registry: Registry) -> None:
    predicate = compile_predicate(Comparison("total_purchase", "gt", 3, loc=Location(pointer="/condition")), registry,
                                  as_of=AS_OF)
    with pytest.raises(DataError) as caught:
        predicate({"id": "p9", "total_purchase": "1001"})
    assert "p9" in str(caught.value)
    assert caught.value.location.pointer == "/condition"
    assert caught.value.value == "1001"


def test_unknown_operator_is_unsupported(registry: Registry) -> None:
    with pytest.raises(UnsupportedError, match="unknown operator 'resembles'"):
        compile_predicate(Comparison("city", "resembles", "x"), registry, as_of=AS_OF)


def test_date_window_in_hours_is_rejected(registry: Registry) -> None:
    condition = Comparison("birthday", "in_last", Duration(5, "hours"), loc=Location(pointer="/condition/all/2"))
    with pytest.raises(RuleSemanticError) as caught:
        compile_predicate(condition, registry, as_of=AS_OF)
    assert caught.value.location.pointer == "/condition/all/2"


class SoundsLikePlugin:
    """A plugin operator with a memory implementation, and one without."""

    @hookimpl
    def segmento_operators(self) -> list[OperatorSpec]:
        return [OperatorSpec("shares_initial", "scalar"), OperatorSpec("sounds_like", "scalar")]

    @hookimpl
    def segmento_operator_implementations(self, target: str) -> dict[str, Any] | None:
        if target != "memory":
            return None
        return {"shares_initial": lambda value, rule_value, options: value[:1] == rule_value[:1]}


@pytest.fixture(scope="module")
def plugin_registry() -> Registry:
    return build_registry(make_plugin_manager([SoundsLikePlugin()], load_entry_points=False))


def test_plugin_operator_runs_in_memory(plugin_registry: Registry) -> None:
    predicate = compile_predicate(Comparison("city", "shares_initial", "Huế"), plugin_registry, as_of=AS_OF)
    assert predicate({"id": "1", "city": "Hà Nội"}) is True
    assert predicate({"id": "2", "city": "Đà Nẵng"}) is False
    assert predicate({"id": "3"}) is False


def test_operator_without_implementation_names_target(plugin_registry: Registry) -> None:
    condition = Comparison("city", "sounds_like", "Huế", loc=Location(pointer="/condition/any/0"))
    with pytest.raises(UnsupportedError) as caught:
        MemoryCompiler(plugin_registry, as_of=AS_OF).compile(condition)
    assert "'sounds_like'" in str(caught.value)
    assert "'memory'" in str(caught.value)
    assert caught.value.location.pointer == "/condition/any/0"
    assert caught.value.params == {"target": "memory", "operator": "sounds_like"}


def test_default_registry_has_memory_implementations() -> None:
    table = get_registry().implementations_for("memory")
    for name, spec in get_registry().operators.items():
        if spec.negates is None:
            assert name in table, name


# --- the shared cross-target case table ------------------------------------------------------------


@pytest.mark.parametrize("case", all_cases(), ids=lambda item: item.id)
def test_case_table_in_memory(case: Case) -> None:
    registry = case_registry()
    profiles = [coerce_profile(raw, registry) for raw in case.profiles]
    mark = case.mark_for("memory")
    if mark is not None:
        with pytest.raises(mark.raises):
            select(case.rule, profiles, registry, as_of=case.as_of, timezone=case.timezone)
        return
    selected = select(case.rule, profiles, registry, as_of=case.as_of, timezone=case.timezone)
    assert tuple(sorted(selected)) == case.expected


def test_date_field_rejects_datetime_value(registry: Registry) -> None:
    condition = Comparison("birthday", "eq", datetime(2000, 1, 1, 8, 0), loc=Location(pointer="/condition"))
    with pytest.raises(RuleSemanticError, match="a date field compares with a date") as caught:
        compile_predicate(condition, registry, as_of=AS_OF)
    assert caught.value.location.pointer == "/condition"


def test_datetime_field_rejects_date_for_gt(registry: Registry) -> None:
    from datetime import date

    condition = Comparison("signed_up_at", "gt", date(2024, 1, 1))
    with pytest.raises(RuleSemanticError, match="not a date"):
        compile_predicate(condition, registry, as_of=AS_OF)
