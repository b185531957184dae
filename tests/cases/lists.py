"""Cases on lists, maps and ranked lists: members, keys, sums and best ranks."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from segmento.engine.ast import Comparison as C
from segmento.engine.ast import TextOptions
from tests.cases import case

CI = TextOptions(ignore_case=True)
CI_AI = TextOptions(ignore_case=True, ignore_accents=True)

COLLECTIONS = (
    {
        "id": "l1",
        "tags": ["Giày", "túi xách", "a%b", "x_y"],
        "lucky_numbers": [7, "2.5"],
        "product_views": {"1": 2, "2": 3, "85123A": 1},
        "long_term_interests": {"home.kitchen": "12.5", "toys": 1},
        "short_term_interests": ["toys", "home.kitchen", "books"],
    },
    {
        "id": "l2",
        "tags": [],
        "lucky_numbers": [],
        "product_views": {},
        "long_term_interests": {},
        "short_term_interests": [],
    },
    {
        "id": "l3",
        "tags": None,
        "lucky_numbers": None,
        "product_views": None,
        "long_term_interests": None,
        "short_term_interests": None,
    },
    {"id": "l4"},
    {
        "id": "l5",
        "tags": ["giày", "GIAY"],
        "lucky_numbers": ["2.50", -1],
        "product_views": {"1": 0, "3": 5},
        "long_term_interests": {"toys": "0.0001"},
        "short_term_interests": ["books", "toys", "toys"],
    },
    {
        "id": "l6",
        "tags": [unicodedata.normalize("NFD", "túi xách")],
        "product_views": {"2": 10},
        "short_term_interests": ["home.kitchen"],
    },
)

_WITHOUT_MAP = ("l2", "l3", "l4")

CASES = [
    # --- members of a list ----------------------------------------------------------------
    case("list-contains-any-exact", C("tags", "contains_any", ("giày",)), COLLECTIONS, ["l5"]),
    case("list-contains-any-nfd-member", C("tags", "contains_any", ("túi xách",)), COLLECTIONS, ["l1", "l6"]),
    case("list-contains-any-ignore-case", C("tags", "contains_any", ("GIÀY",), options=CI), COLLECTIONS, ["l1", "l5"]),
    case(
        "list-contains-any-ignore-both",
        C("tags", "contains_any", ("giay",), options=CI_AI),
        COLLECTIONS,
        ["l1", "l5"],
    ),
    case("list-contains-any-pattern-chars", C("tags", "contains_any", ("a_b", "x%y")), COLLECTIONS, []),
    case("list-contains-all", C("tags", "contains_all", ("Giày", "túi xách")), COLLECTIONS, ["l1"]),
    case(
        "list-contains-all-folds-to-one",
        C("tags", "contains_all", ("giày", "GIAY"), options=CI_AI),
        COLLECTIONS,
        ["l1", "l5"],
    ),
    case("list-contains-all-missing-item", C("tags", "contains_all", ("Giày", "sách")), COLLECTIONS, []),
    # A value list is a set, so a repeated value changes nothing.
    case("list-contains-all-repeated-value", C("tags", "contains_all", ("Giày", "Giày")), COLLECTIONS, ["l1"]),
    case("map-contains-any-repeated-key", C("product_views", "contains_any", ("3", "3")), COLLECTIONS, ["l5"]),
    case(
        "list-contains-none-includes-missing",
        C("tags", "contains_none", ("giày",)),
        COLLECTIONS,
        ["l1", "l2", "l3", "l4", "l6"],
    ),
    case("list-is-empty", C("tags", "is_empty"), COLLECTIONS, ["l2", "l3", "l4"]),
    case("list-is-not-empty", C("tags", "is_not_empty"), COLLECTIONS, ["l1", "l5", "l6"]),
    case("numbers-contains-any", C("lucky_numbers", "contains_any", (Decimal("2.5"),)), COLLECTIONS, ["l1", "l5"]),
    case(
        "numbers-contains-all",
        C("lucky_numbers", "contains_all", (Decimal("-1"), Decimal("2.50"))),
        COLLECTIONS,
        ["l5"],
    ),
    case("numbers-contains-any-unstorable", C("lucky_numbers", "contains_any", (Decimal("2.50001"),)), COLLECTIONS, []),
    case(
        "numbers-contains-none",
        C("lucky_numbers", "contains_none", (Decimal("7"),)),
        COLLECTIONS,
        ["l2", "l3", "l4", "l5", "l6"],
    ),
    # --- keys of a map ----------------------------------------------------------------------
    case("map-contains-any-key", C("product_views", "contains_any", ("85123A", "3")), COLLECTIONS, ["l1", "l5"]),
    case("map-contains-all-keys", C("product_views", "contains_all", ("1", "2")), COLLECTIONS, ["l1"]),
    case("map-is-empty", C("product_views", "is_empty"), COLLECTIONS, _WITHOUT_MAP),
    # --- keyed sums: a missing key, or a missing map, counts 0 ------------------------------
    case("map-sum-gte", C("product_views", "gte", 5, include=("1", "2")), COLLECTIONS, ["l1", "l6"]),
    case(
        "map-missing-key-is-zero",
        C("product_views", "eq", 0, include=("1",)),
        COLLECTIONS,
        ["l2", "l3", "l4", "l5", "l6"],
    ),
    case("map-ne", C("product_views", "ne", 5, include=("3",)), COLLECTIONS, ["l1", "l2", "l3", "l4", "l6"]),
    case("map-between", C("product_views", "between", (3, 5), include=("2", "3")), COLLECTIONS, ["l1", "l5"]),
    case(
        "map-not-between",
        C("product_views", "not_between", (3, 5), include=("2", "3")),
        COLLECTIONS,
        ["l2", "l3", "l4", "l6"],
    ),
    case("map-key-listed-twice", C("product_views", "eq", 6, include=("2", "2")), COLLECTIONS, ["l1"]),
    case("scores-gt", C("long_term_interests", "gt", Decimal("12.4"), include=("home.kitchen",)), COLLECTIONS, ["l1"]),
    case(
        "scores-sum-lte",
        C("long_term_interests", "lte", Decimal("1"), include=("toys", "home.kitchen")),
        COLLECTIONS,
        ["l2", "l3", "l4", "l5", "l6"],
    ),
    case(
        "scores-eq-smallest",
        C("long_term_interests", "eq", Decimal("0.0001"), include=("toys",)),
        COLLECTIONS,
        ["l5"],
    ),
    case(
        "scores-gt-more-places",
        C("long_term_interests", "gt", Decimal("0.00005"), include=("toys",)),
        COLLECTIONS,
        ["l1", "l5"],
    ),
    # --- best rank of a ranked list -----------------------------------------------------------
    case("ranked-eq-first", C("short_term_interests", "eq", 1, include=("toys",)), COLLECTIONS, ["l1"]),
    case(
        "ranked-best-of-keys",
        C("short_term_interests", "eq", 1, include=("toys", "books")),
        COLLECTIONS,
        ["l1", "l5"],
    ),
    case("ranked-lte", C("short_term_interests", "lte", 2, include=("home.kitchen",)), COLLECTIONS, ["l1", "l6"]),
    case("ranked-none-ranked", C("short_term_interests", "gte", 1, include=("garden",)), COLLECTIONS, []),
    case(
        "ranked-ne-includes-unranked",
        C("short_term_interests", "ne", 2, include=("toys",)),
        COLLECTIONS,
        ["l1", "l2", "l3", "l4", "l6"],
    ),
    case("ranked-contains-any", C("short_term_interests", "contains_any", ("books",)), COLLECTIONS, ["l1", "l5"]),
    case("ranked-is-empty", C("short_term_interests", "is_empty"), COLLECTIONS, _WITHOUT_MAP),
]
