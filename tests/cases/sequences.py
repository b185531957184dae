"""Cases on the behaviour plugin's sequence condition: carts not followed by a purchase.

``as_of`` is 2024-03-01T02:00Z (09:00 local, UTC+7). A cart counts when its whole
follow-up time ``(cart, cart + within]`` ended by ``as_of`` and no purchase fell in it.
"""

from __future__ import annotations

from typing import Any

from segmento.engine.ast import Group
from segmento.engine.values import CalendarPeriod, Duration
from segmento.plugins.behaviour import SequenceCondition
from tests.cases import case

DAY = Duration(1, "days")
ABANDONED = SequenceCondition("add_to_cart", "purchase", DAY)


def cart(time: str, product: str | None = "1") -> dict[str, Any]:
    event: dict[str, Any] = {"kind": "add_to_cart", "time": time}
    if product is not None:
        event["product_id"] = product
    return event


def purchase(time: str, product: str = "1") -> dict[str, Any]:
    return {"kind": "purchase", "time": time, "product_id": product, "price": 10, "quantity": 1}


CARTS = (
    {"id": "s-none", "events": []},
    {"id": "s-alone", "events": [cart("2024-02-25T00:00:00Z")]},
    {"id": "s-bought", "events": [cart("2024-02-25T00:00:00Z"), purchase("2024-02-25T12:00:00Z")]},
    # A purchase exactly at cart + within follows the cart.
    {"id": "s-edge", "events": [cart("2024-02-25T00:00:00Z"), purchase("2024-02-26T00:00:00Z")]},
    {"id": "s-late", "events": [cart("2024-02-25T00:00:00Z"), purchase("2024-02-26T00:00:00.000001Z")]},
    {"id": "s-before", "events": [purchase("2024-02-24T00:00:00Z"), cart("2024-02-25T00:00:00Z")]},
    # A purchase at the cart's own instant is not after it.
    {"id": "s-same-instant", "events": [cart("2024-02-25T00:00:00Z"), purchase("2024-02-25T00:00:00Z")]},
    {
        "id": "s-two-carts",
        "events": [cart("2024-02-20T00:00:00Z"), purchase("2024-02-20T01:00:00Z"), cart("2024-02-25T00:00:00Z")],
    },
    {
        "id": "s-both-bought",
        "events": [
            cart("2024-02-20T00:00:00Z"),
            purchase("2024-02-20T06:00:00Z"),
            cart("2024-02-25T00:00:00Z"),
            purchase("2024-02-25T01:00:00Z"),
        ],
    },
    # Younger than within: its follow-up time has not ended yet.
    {"id": "s-young", "events": [cart("2024-02-29T14:00:00Z")]},
    # Exactly within old: its follow-up time ends at as_of.
    {"id": "s-day-old", "events": [cart("2024-02-29T02:00:00Z")]},
    {"id": "s-future", "events": [cart("2024-03-01T02:00:01Z")]},
    # Another profile's purchase does not follow this profile's cart.
    {"id": "s-other", "events": [purchase("2024-02-25T06:00:00Z")]},
)

PRODUCTS = (
    {"id": "p-other-product", "events": [cart("2024-02-25T00:00:00Z", "1"), purchase("2024-02-25T06:00:00Z", "2")]},
    {"id": "p-same-product", "events": [cart("2024-02-25T00:00:00Z", "1"), purchase("2024-02-25T06:00:00Z", "1")]},
    {"id": "p-no-product", "events": [cart("2024-02-25T00:00:00Z", None), purchase("2024-02-25T06:00:00Z", "1")]},
)

UNFOLLOWED = ("s-alone", "s-late", "s-before", "s-same-instant", "s-two-carts", "s-day-old")

CASES = [
    case("sequence-carts-not-bought", ABANDONED, CARTS, UNFOLLOWED),
    case(
        "sequence-negated-by-none",
        Group("none", (ABANDONED,)),
        CARTS,
        [item["id"] for item in CARTS if item["id"] not in UNFOLLOWED],
    ),
    case(
        "sequence-in-last-3-days",
        SequenceCondition("add_to_cart", "purchase", Duration(12, "hours"), window=Duration(3, "days")),
        (
            {"id": "w-old", "events": [cart("2024-02-25T00:00:00Z")]},
            # Exactly 3 days before as_of: outside "in last 3 days", as for event counts.
            {"id": "w-edge", "events": [cart("2024-02-27T02:00:00Z")]},
            {"id": "w-inside", "events": [cart("2024-02-28T00:00:00Z")]},
            {"id": "w-young", "events": [cart("2024-02-29T20:00:00Z")]},
        ),
        ["w-inside"],
    ),
    case(
        "sequence-in-last-week-period",
        # Last week in the shop's zone: Monday 19 to Sunday 25 February 2024, local time.
        SequenceCondition("add_to_cart", "purchase", Duration(30, "minutes"), window=CalendarPeriod("last_week")),
        (
            {"id": "k-before", "events": [cart("2024-02-18T16:59:59Z")]},
            {"id": "k-first", "events": [cart("2024-02-18T17:00:00Z")]},
            {"id": "k-last", "events": [cart("2024-02-25T16:59:59Z")]},
            {"id": "k-after", "events": [cart("2024-02-25T17:00:00Z")]},
            {"id": "k-bought", "events": [cart("2024-02-20T00:00:00Z"), purchase("2024-02-20T00:30:00Z")]},
        ),
        ["k-first", "k-last"],
    ),
    case("sequence-any-product", ABANDONED, PRODUCTS, []),
    case(
        "sequence-same-product",
        SequenceCondition("add_to_cart", "purchase", DAY, same_product=True),
        PRODUCTS,
        ["p-other-product", "p-no-product"],
    ),
]
