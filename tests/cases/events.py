"""Cases on behavioural conditions: counts and sums of events in windows.

``as_of`` is 2024-03-01T02:00Z (09:00 local, UTC+7); the last 7 days are
``(2024-02-23T02:00Z, 2024-03-01T02:00Z]``.
"""

from __future__ import annotations

from decimal import Decimal

from segmento.engine.ast import EventCondition as E
from segmento.engine.values import CalendarPeriod, Duration
from tests.cases import case

WEEK = Duration(7, "days")

SHOPPERS = (
    {
        "id": "e1",
        "events": [
            {
                "kind": "add_to_cart",
                "time": "2024-02-29T17:00:00Z",
                "product_id": "1",
                "category": "shoes.running",
                "price": "100.5",
                "quantity": 2,
            },
            # Exactly 7 days before as_of: outside "in last 7 days".
            {
                "kind": "add_to_cart",
                "time": "2024-02-23T02:00:00Z",
                "product_id": "2",
                "category": "shoes",
                "price": 10,
                "quantity": 1,
            },
            {"kind": "purchase", "time": "2024-02-28T10:00:00Z", "product_id": "1", "price": "100.5", "quantity": 1},
            # After as_of: not counted at all.
            {
                "kind": "add_to_cart",
                "time": "2024-03-01T02:00:01Z",
                "product_id": "1",
                "category": "shoes",
                "price": 1,
                "quantity": 1,
            },
        ],
    },
    {
        "id": "e2",
        "events": [
            {
                "kind": "add_to_cart",
                "time": "2024-02-29T16:59:59Z",
                "product_id": 3,
                "category": "shoesx",
                "quantity": 3,
            },
            {"kind": "product_view", "time": "2024-02-27T00:00:00Z", "category": "a_b.c"},
            {"kind": "product_view", "time": "2024-02-27T01:00:00Z", "category": "a_b.c"},
        ],
    },
    {"id": "e3", "events": []},
    {"id": "e4", "events": None},
    {"id": "e5"},
    {
        "id": "e6",
        "events": [
            {
                "kind": "add_to_cart",
                "time": "2024-03-01T02:00:00Z",
                "product_id": "85123A",
                "category": "bags",
                "price": "0.5",
                "quantity": "1.5",
            },
            {"kind": "product_view", "time": "2024-02-25T17:00:00Z", "category": "axb.c"},
        ],
    },
)

_EVERYONE = [item["id"] for item in SHOPPERS]

CASES = [
    case("events-count-history", E("add_to_cart", "count", "gte", 1), SHOPPERS, ["e1", "e2", "e6"]),
    case("events-count-excludes-future", E("add_to_cart", "count", "eq", 2), SHOPPERS, ["e1"]),
    case("events-count-zero", E("add_to_cart", "count", "eq", 0), SHOPPERS, ["e3", "e4", "e5"]),
    case("events-count-ne-zero", E("add_to_cart", "count", "ne", 0), SHOPPERS, ["e1", "e2", "e6"]),
    case(
        "events-count-not-between",
        E("add_to_cart", "count", "not_between", (1, 1)),
        SHOPPERS,
        ["e1", "e3", "e4", "e5"],
    ),
    case("events-window-excludes-start", E("add_to_cart", "count", "gte", 2, window=WEEK), SHOPPERS, []),
    case("events-window-includes-as-of", E("add_to_cart", "count", "eq", 1, window=WEEK), SHOPPERS, ["e1", "e2", "e6"]),
    case(
        "events-period-today",
        E("add_to_cart", "count", "gte", 1, window=CalendarPeriod("today")),
        SHOPPERS,
        ["e1", "e6"],
    ),
    case(
        "events-period-yesterday",
        E("add_to_cart", "count", "gte", 1, window=CalendarPeriod("yesterday")),
        SHOPPERS,
        ["e2"],
    ),
    case(
        "events-period-this-week",
        E("product_view", "count", "gte", 1, window=CalendarPeriod("this_week")),
        SHOPPERS,
        ["e2", "e6"],
    ),
    case(
        "events-period-last-week-end-excluded",
        E("product_view", "count", "gte", 1, window=CalendarPeriod("last_week")),
        SHOPPERS,
        [],
    ),
    case("events-products", E("add_to_cart", "count", "gte", 1, products=("1",)), SHOPPERS, ["e1"]),
    case("events-products-numeric-id", E("add_to_cart", "count", "eq", 1, products=("3",)), SHOPPERS, ["e2"]),
    case("events-products-none-match", E("add_to_cart", "count", "eq", 0, products=("9",)), SHOPPERS, _EVERYONE),
    case("events-category-prefix", E("add_to_cart", "count", "gte", 2, categories=("shoes",)), SHOPPERS, ["e1"]),
    case("events-category-not-substring", E("add_to_cart", "count", "gte", 1, categories=("shoes",)), SHOPPERS, ["e1"]),
    case("events-category-underscore", E("product_view", "count", "eq", 2, categories=("a_b",)), SHOPPERS, ["e2"]),
    case(
        "events-category-child-only",
        E("add_to_cart", "count", "eq", 1, categories=("shoes.running",)),
        SHOPPERS,
        ["e1"],
    ),
    case("events-sum-value", E("add_to_cart", "sum", "gte", Decimal("211"), measure="value"), SHOPPERS, ["e1"]),
    case(
        "events-sum-value-without-price",
        E("add_to_cart", "sum", "eq", 0, measure="value"),
        SHOPPERS,
        ["e2", "e3", "e4", "e5"],
    ),
    case("events-sum-quantity", E("add_to_cart", "sum", "eq", 3, measure="quantity"), SHOPPERS, ["e1", "e2"]),
    case(
        "events-sum-price-between",
        E("add_to_cart", "sum", "between", (Decimal("0.5"), Decimal("0.5")), measure="price"),
        SHOPPERS,
        ["e6"],
    ),
    case(
        "events-sum-fractional-quantity",
        E("add_to_cart", "sum", "eq", Decimal("0.75"), measure="value"),
        SHOPPERS,
        ["e6"],
    ),
    case(
        "events-sum-in-window",
        E("purchase", "sum", "lt", Decimal("100.5"), measure="value", window=WEEK),
        SHOPPERS,
        ["e2", "e3", "e4", "e5", "e6"],
    ),
    case(
        "events-sum-more-places",
        E("add_to_cart", "sum", "gt", Decimal("0.74999"), measure="value", window=WEEK),
        SHOPPERS,
        ["e1", "e6"],
    ),
]
