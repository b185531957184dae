"""Cases on integer, decimal and boolean fields, numeric-looking text and a plugin operator."""

from __future__ import annotations

from decimal import Decimal

from segmento.engine.ast import Comparison as C
from segmento.engine.errors import UnsupportedError
from tests.cases import Mark, case

NUMBERS = (
    {"id": "n1", "total_purchase": 3, "total_purchase_value": "5000000.00", "avg_purchase_value": "0.1"},
    {"id": "n2", "total_purchase": 0, "total_purchase_value": "0", "avg_purchase_value": 0.10},
    {"id": "n3", "total_purchase": None, "total_purchase_value": None, "avg_purchase_value": None},
    {"id": "n4"},
    {"id": "n5", "total_purchase": -2, "total_purchase_value": "-0.0001"},
    {"id": "n6", "total_purchase": 1001, "total_purchase_value": "99999999999999.9999"},
    {"id": "n7", "total_purchase": "7", "total_purchase_value": "1e3"},
)

BOOLEANS = (
    {"id": "b1", "is_subscribed": True},
    {"id": "b2", "is_subscribed": False},
    {"id": "b3", "is_subscribed": None},
    {"id": "b4"},
)

NUMERIC_TEXT = (
    {"id": "s1", "name": "1001"},
    {"id": "s2", "name": "1001.0"},
    {"id": "s3", "name": "01001"},
    {"id": "s4", "name": "1e3"},
    {"id": "s5", "name": None},
)

WORDS = (
    {"id": "w1", "nickname": "anna"},
    {"id": "w2", "nickname": "bob "},
    {"id": "w3", "nickname": None},
    {"id": "w4", "nickname": ""},
)

_PRESENT_COUNTS = ("n1", "n2", "n5", "n6", "n7")
_PRESENT_VALUES = ("n1", "n2", "n5", "n6", "n7")

CASES = [
    # --- integers -------------------------------------------------------------------
    case("int-eq", C("total_purchase", "eq", 3), NUMBERS, ["n1"]),
    case("int-ne-includes-missing", C("total_purchase", "ne", 3), NUMBERS, ["n2", "n3", "n4", "n5", "n6", "n7"]),
    case("int-gt", C("total_purchase", "gt", 0), NUMBERS, ["n1", "n6", "n7"]),
    case("int-gte-zero", C("total_purchase", "gte", 0), NUMBERS, ["n1", "n2", "n6", "n7"]),
    case("int-lt-negative", C("total_purchase", "lt", 0), NUMBERS, ["n5"]),
    case("int-lte", C("total_purchase", "lte", 3), NUMBERS, ["n1", "n2", "n5"]),
    case("int-between-inclusive", C("total_purchase", "between", (0, 7)), NUMBERS, ["n1", "n2", "n7"]),
    case("int-not-between", C("total_purchase", "not_between", (0, 7)), NUMBERS, ["n3", "n4", "n5", "n6"]),
    case("int-in", C("total_purchase", "in", (3, 1001)), NUMBERS, ["n1", "n6"]),
    case("int-in-repeated-value", C("total_purchase", "in", (3, 1001, 3)), NUMBERS, ["n1", "n6"]),
    case("int-not-in", C("total_purchase", "not_in", (3, 1001)), NUMBERS, ["n2", "n3", "n4", "n5", "n7"]),
    case("int-is-set", C("total_purchase", "is_set"), NUMBERS, _PRESENT_COUNTS),
    case("int-is-not-set", C("total_purchase", "is_not_set"), NUMBERS, ["n3", "n4"]),
    case("int-gt-beyond-64-bits", C("total_purchase", "gt", 10**19), NUMBERS, []),
    case("int-lt-beyond-64-bits", C("total_purchase", "lt", 10**19), NUMBERS, _PRESENT_COUNTS),
    case("int-ne-beyond-64-bits", C("total_purchase", "ne", -(10**19)), NUMBERS, [item["id"] for item in NUMBERS]),
    # --- decimals -------------------------------------------------------------------
    case("dec-eq-trailing-zeros", C("avg_purchase_value", "eq", Decimal("0.100")), NUMBERS, ["n1", "n2"]),
    case("dec-eq-more-places", C("total_purchase_value", "eq", Decimal("0.00001")), NUMBERS, []),
    case(
        "dec-gt-more-places",
        C("total_purchase_value", "gt", Decimal("-0.00005")),
        NUMBERS,
        ["n1", "n2", "n6", "n7"],
    ),
    case("dec-lt-more-places", C("total_purchase_value", "lt", Decimal("-0.00005")), NUMBERS, ["n5"]),
    case("dec-gte-largest", C("total_purchase_value", "gte", Decimal("99999999999999.9999")), NUMBERS, ["n6"]),
    case("dec-lt-huge", C("total_purchase_value", "lt", Decimal("1e20")), NUMBERS, _PRESENT_VALUES),
    case("dec-gt-huge", C("total_purchase_value", "gt", Decimal("1e20")), NUMBERS, []),
    case(
        "dec-between-inclusive",
        C("total_purchase_value", "between", (Decimal("0"), Decimal("5000000"))),
        NUMBERS,
        ["n1", "n2", "n7"],
    ),
    case(
        "dec-not-in",
        C("total_purchase_value", "not_in", (Decimal("0"), Decimal("1000.0"))),
        NUMBERS,
        ["n1", "n3", "n4", "n5", "n6"],
    ),
    case(
        "dec-in-with-unstorable-item",
        C("total_purchase_value", "in", (Decimal("0.00001"), Decimal("5000000"))),
        NUMBERS,
        ["n1"],
    ),
    case("dec-is-not-set", C("avg_purchase_value", "is_not_set"), NUMBERS, ["n3", "n4", "n5", "n6", "n7"]),
    # --- booleans -------------------------------------------------------------------
    case("bool-eq-true", C("is_subscribed", "eq", True), BOOLEANS, ["b1"]),
    case("bool-eq-false", C("is_subscribed", "eq", False), BOOLEANS, ["b2"]),
    case("bool-ne-true-includes-missing", C("is_subscribed", "ne", True), BOOLEANS, ["b2", "b3", "b4"]),
    case("bool-is-set", C("is_subscribed", "is_set"), BOOLEANS, ["b1", "b2"]),
    # --- text that looks like a number is compared as text ----------------------------
    case("text-numeric-eq", C("name", "eq", "1001"), NUMERIC_TEXT, ["s1"]),
    case("text-numeric-in", C("name", "in", ("1001.0", "1E3")), NUMERIC_TEXT, ["s2"]),
    case("text-numeric-ne", C("name", "ne", "1001"), NUMERIC_TEXT, ["s2", "s3", "s4", "s5"]),
    # --- a field type and an operator from a plugin ---------------------------------------
    case("plugin-type-eq-trailing-space", C("nickname", "eq", "bob "), WORDS, ["w2"]),
    case(
        "plugin-operator-memory-only",
        C("nickname", "is_palindrome"),
        WORDS,
        ["w1", "w4"],
        marks={"sql": Mark("the test plugin implements is_palindrome for memory only", UnsupportedError)},
    ),
]
