"""Cases on groups, negation and segment references."""

from __future__ import annotations

from segmento.engine.ast import Comparison as C
from segmento.engine.ast import Group, Segment, SegmentRef
from tests.cases import case

MEMBERS = (
    {"id": "g1", "city": "Hà Nội", "total_purchase": 5, "segments": ["vip", "newsletter"]},
    {"id": "g2", "city": "Huế", "total_purchase": 1, "segments": []},
    {"id": "g3", "city": None, "segments": None},
    {"id": "g4"},
    {"id": "g5", "city": "Hà Nội", "total_purchase": None, "segments": ["blocked"]},
)

IN_HANOI = C("city", "eq", "Hà Nội")

CASES = [
    case("segment-ref", SegmentRef("vip"), MEMBERS, ["g1"]),
    case("segment-ref-negated", SegmentRef("vip", negated=True), MEMBERS, ["g2", "g3", "g4", "g5"]),
    case("group-all", Group("all", (IN_HANOI, C("total_purchase", "gte", 2))), MEMBERS, ["g1"]),
    case("group-any", Group("any", (C("city", "eq", "Huế"), C("total_purchase", "gte", 5))), MEMBERS, ["g1", "g2"]),
    case("group-none", Group("none", (IN_HANOI, C("total_purchase", "gte", 1))), MEMBERS, ["g3", "g4"]),
    case(
        "group-negated-all",
        Group("all", (IN_HANOI, SegmentRef("blocked", negated=True)), negated=True),
        MEMBERS,
        ["g2", "g3", "g4", "g5"],
    ),
    case(
        "group-nested",
        Group(
            "all",
            (
                Group("any", (C("city", "ne", "Hà Nội"), SegmentRef("vip"))),
                Group("none", (SegmentRef("blocked"),)),
            ),
        ),
        MEMBERS,
        ["g1", "g2", "g3", "g4"],
    ),
    case("group-double-none", Group("none", (Group("none", (C("total_purchase", "gte", 2),)),)), MEMBERS, ["g1"]),
    case(
        "segment-document",
        Segment("vip_hanoi", "Khách VIP Hà Nội", Group("all", (IN_HANOI, SegmentRef("vip")))),
        MEMBERS,
        ["g1"],
    ),
]
