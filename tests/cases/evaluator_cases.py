"""Cases on combined event filters, local month and year turns, and a whole segment.

The default ``as_of`` is 2024-03-01T02:00Z, 09:00 local time (UTC+7).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from segmento.engine.ast import Comparison as C
from segmento.engine.ast import EventCondition as E
from segmento.engine.ast import Group, Segment, SegmentRef, TextOptions
from segmento.engine.values import CalendarPeriod, Duration
from tests.cases import case

FOLDED = TextOptions(ignore_case=True, ignore_accents=True)

RUNNERS = (
    {
        "id": "r1",
        "events": [
            {"kind": "purchase", "time": "2024-02-28T03:00:00Z", "product_id": "7", "category": "shoes.running.trail"},
            {"kind": "purchase", "time": "2024-02-28T04:00:00Z", "product_id": "8", "category": "shoes.running"},
        ],
    },
    {
        "id": "r2",
        "events": [
            {"kind": "purchase", "time": "2024-02-28T03:00:00Z", "product_id": "7", "category": "shoes.runningx"},
            {"kind": "purchase", "time": "2024-02-28T03:00:00Z", "product_id": "9", "category": "shoes.running"},
        ],
    },
    {
        "id": "r3",
        "events": [{"kind": "purchase", "time": "2024-02-28T03:00:00Z", "product_id": 7, "category": "shoes"}],
    },
    {"id": "r4", "events": [{"kind": "purchase", "time": "2024-02-28T03:00:00Z", "product_id": "7"}]},
)

# 00:30 local on 1 February 2024 while the UTC date is still 31 January.
_LOCAL_FEBRUARY = datetime(2024, 1, 31, 17, 30, tzinfo=UTC)
# 00:30 local on 1 January 2025 while the UTC date is still 31 December 2024.
_LOCAL_NEW_YEAR = datetime(2024, 12, 31, 17, 30, tzinfo=UTC)

DAYS = (
    {"id": "y1", "birthday": "1990-01-31"},
    {"id": "y2", "birthday": "1990-02-01"},
    {"id": "y3", "birthday": "2024-12-31"},
    {"id": "y4", "birthday": "2025-01-01"},
    {"id": "y5", "birthday": "1990-01-05"},
    {"id": "y6", "birthday": "1990-01-06"},
    {"id": "y7"},
    {"id": "y8", "birthday": "2024-02-01"},
    {"id": "y9", "birthday": "2024-01-31"},
)

CUSTOMERS = (
    {
        "id": "c1",
        "city": "Hà Nội",
        "total_purchase_value": "5000000.00",
        "product_views": {"1234": 2, "5678": 1},
        "segments": ["vip"],
        "events": [{"kind": "add_to_cart", "time": "2024-02-29T17:00:00Z", "product_id": "1234"}],
    },
    {
        "id": "c2",
        "city": "HA NOI",
        "total_purchase_value": "4999999.99",
        "product_views": {"1234": 9},
        "events": [{"kind": "add_to_cart", "time": "2024-02-29T17:00:00Z", "product_id": "1234"}],
    },
    {
        "id": "c3",
        "city": "ha noi",
        "total_purchase_value": 6000000,
        "long_term_interests": {"giày": "3"},
        "segments": ["blocked"],
        "events": [{"kind": "add_to_cart", "time": "2024-02-29T17:00:00Z"}],
    },
    {
        "id": "c4",
        "city": "Hà Nội",
        "total_purchase_value": "7000000",
        "long_term_interests": {"Giày": "1"},
        "events": [
            {"kind": "add_to_cart", "time": "2024-02-26T17:00:00Z"},
            {"kind": "purchase", "time": "2024-02-27T17:00:00Z", "price": "10", "quantity": 1},
        ],
    },
    {"id": "c5", "city": "Huế", "total_purchase_value": "9000000", "product_views": {"1234": 5}},
)

_VIP_HANOI = Segment(
    "vip_hanoi",
    "Khách VIP Hà Nội",
    Group(
        "all",
        (
            C("total_purchase_value", "gte", Decimal("5000000")),
            C("city", "eq", "ha noi", options=FOLDED),
            Group(
                "any",
                (
                    C("long_term_interests", "contains_any", ("giay",), options=FOLDED),
                    C("product_views", "gte", 3, include=("1234", "5678")),
                ),
            ),
            E("add_to_cart", "count", "gte", 1, window=Duration(7, "days")),
            E("purchase", "count", "eq", 0, window=Duration(7, "days")),
            SegmentRef("blocked", negated=True),
        ),
    ),
)

CASES = [
    case(
        "events-products-and-categories",
        E("purchase", "count", "gte", 1, products=("7",), categories=("shoes.running",)),
        RUNNERS,
        ["r1"],
    ),
    case(
        "events-dotted-category-prefix",
        E("purchase", "count", "eq", 2, categories=("shoes.running",)),
        RUNNERS,
        ["r1"],
    ),
    case(
        "events-parent-category-and-product",
        E("purchase", "count", "eq", 1, products=("7", "9"), categories=("shoes",)),
        RUNNERS,
        ["r1", "r3"],
    ),
    case(
        "events-category-excludes-uncategorised",
        E("purchase", "count", "eq", 0, categories=("shoes",)),
        RUNNERS,
        ["r4"],
    ),
    case(
        "date-this-month-local-turn",
        C("birthday", "in_period", CalendarPeriod("this_month")),
        DAYS,
        ["y8"],
        as_of=_LOCAL_FEBRUARY,
    ),
    case(
        "date-this-month-utc",
        C("birthday", "in_period", CalendarPeriod("this_month")),
        DAYS,
        ["y9"],
        as_of=_LOCAL_FEBRUARY,
        timezone="UTC",
    ),
    case(
        "date-in-last-day-local-turn",
        C("birthday", "in_last", Duration(1, "days")),
        DAYS,
        ["y8"],
        as_of=_LOCAL_FEBRUARY,
    ),
    case(
        "date-this-year-local-new-year",
        C("birthday", "in_period", CalendarPeriod("this_year")),
        DAYS,
        ["y4"],
        as_of=_LOCAL_NEW_YEAR,
    ),
    case(
        "date-last-month-local-new-year",
        C("birthday", "in_period", CalendarPeriod("last_month")),
        DAYS,
        ["y3"],
        as_of=_LOCAL_NEW_YEAR,
    ),
    case(
        "birthday-in-next-across-new-year",
        C("birthday", "birthday_in_next", 4),
        DAYS,
        ["y4", "y5"],
        as_of=_LOCAL_NEW_YEAR,
    ),
    case("segment-vip-hanoi", _VIP_HANOI, CUSTOMERS, ["c1"]),
    case(
        "segment-vip-hanoi-inverted",
        Segment("not_vip", "Not VIP", Group("all", (_VIP_HANOI.condition,), negated=True)),
        CUSTOMERS,
        ["c2", "c3", "c4", "c5"],
    ),
]
