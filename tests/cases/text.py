"""Cases on string fields: Unicode forms, folding, and values that look like patterns."""

from __future__ import annotations

import unicodedata

from segmento.engine.ast import Comparison as C
from segmento.engine.ast import TextOptions
from tests.cases import case

CI = TextOptions(ignore_case=True)
AI = TextOptions(ignore_accents=True)
CI_AI = TextOptions(ignore_case=True, ignore_accents=True)


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


TEXTS = (
    {"id": "t01", "city": "Hà Nội", "name": "50% off"},
    {"id": "t02", "city": nfd("Hà Nội"), "name": "a_b"},
    {"id": "t03", "city": "HÀ NỘI", "name": "x.y*z"},
    {"id": "t04", "city": "Ha Noi", "name": "Tom & Jerry's"},
    {"id": "t05", "city": "Đà Nẵng", "name": nfd("C:\\shop\\đồ")},
    {"id": "t06", "city": "da nang", "name": "50 percent off"},
    {"id": "t07", "city": "", "name": "aXb"},
    {"id": "t08", "city": None, "name": None},
    {"id": "t09"},
    {"id": "t10", "city": "Hà Nội ", "name": "ĐẶNG Văn Đức"},
)

NICKNAMES = (
    {"id": "k1", "nickname": nfd("Hà")},
    {"id": "k2", "nickname": "Hà"},
    {"id": "k3", "nickname": "HA"},
    {"id": "k4"},
)
"""Text in a field of the test plugin's ``word`` type, whose values every target reads as NFC."""

_PRESENT_CITIES = ("t01", "t02", "t03", "t04", "t05", "t06", "t07", "t10")
_PRESENT_NAMES = ("t01", "t02", "t03", "t04", "t05", "t06", "t07", "t10")

CASES = [
    # --- equality -------------------------------------------------------------------
    case("text-eq-nfd-profile", C("city", "eq", "Hà Nội"), TEXTS, ["t01", "t02"]),
    case("text-eq-trailing-space", C("city", "eq", "Hà Nội "), TEXTS, ["t10"]),
    case(
        "text-ne-includes-missing",
        C("city", "ne", "Hà Nội"),
        TEXTS,
        ["t03", "t04", "t05", "t06", "t07", "t08", "t09", "t10"],
    ),
    case("text-eq-ignore-case", C("city", "eq", "hà nội", options=CI), TEXTS, ["t01", "t02", "t03"]),
    case("text-eq-ignore-accents", C("city", "eq", "Ha Noi", options=AI), TEXTS, ["t01", "t02", "t04"]),
    case("text-eq-ignore-both", C("city", "eq", "ha noi", options=CI_AI), TEXTS, ["t01", "t02", "t03", "t04"]),
    case("text-eq-d-with-stroke", C("city", "eq", "da nang", options=CI_AI), TEXTS, ["t05", "t06"]),
    case(
        "text-ne-ignore-both",
        C("city", "ne", "HA NOI", options=CI_AI),
        TEXTS,
        ["t05", "t06", "t07", "t08", "t09", "t10"],
    ),
    case(
        "text-in-ignore-both",
        C("city", "in", ("HA NOI", "Đà Nẵng"), options=CI_AI),
        TEXTS,
        ["t01", "t02", "t03", "t04", "t05", "t06"],
    ),
    case(
        "text-not-in-exact",
        C("city", "not_in", ("Hà Nội", "")),
        TEXTS,
        ["t03", "t04", "t05", "t06", "t08", "t09", "t10"],
    ),
    case("text-eq-empty-string", C("city", "eq", ""), TEXTS, ["t07"]),
    case("text-is-set-empty-string", C("city", "is_set"), TEXTS, _PRESENT_CITIES),
    case("text-is-not-set", C("city", "is_not_set"), TEXTS, ["t08", "t09"]),
    # --- substrings: values are data, never patterns ----------------------------------
    case("text-contains-percent", C("name", "contains", "%"), TEXTS, ["t01"]),
    case("text-contains-underscore", C("name", "contains", "a_b"), TEXTS, ["t02"]),
    case("text-contains-dot-star", C("name", "contains", ".y*"), TEXTS, ["t03"]),
    case("text-contains-ampersand-quote", C("name", "contains", "& Jerry's"), TEXTS, ["t04"]),
    case("text-contains-backslash", C("name", "contains", "\\shop\\"), TEXTS, ["t05"]),
    case("text-contains-nfd-profile", C("name", "contains", "đồ"), TEXTS, ["t05"]),
    case("text-starts-with-percent", C("name", "starts_with", "50%"), TEXTS, ["t01"]),
    case("text-starts-with-underscore", C("name", "starts_with", "_"), TEXTS, []),
    case("text-ends-with-quote", C("name", "ends_with", "'s"), TEXTS, ["t04"]),
    case("text-ends-with-backslash-word", C("name", "ends_with", "\\đồ"), TEXTS, ["t05"]),
    case("text-contains-case-sensitive", C("name", "contains", "x"), TEXTS, ["t03"]),
    case("text-contains-upper-case", C("name", "contains", "X"), TEXTS, ["t07"]),
    case("text-contains-empty", C("name", "contains", ""), TEXTS, _PRESENT_NAMES),
    case("text-ends-with-empty", C("name", "ends_with", ""), TEXTS, _PRESENT_NAMES),
    case("text-starts-with-longer", C("name", "starts_with", "aXbc"), TEXTS, []),
    case("text-ends-with-longer", C("name", "ends_with", "zaXb"), TEXTS, []),
    case(
        "text-not-contains",
        C("name", "not_contains", "a"),
        TEXTS,
        ["t01", "t03", "t04", "t05", "t06", "t08", "t09", "t10"],
    ),
    case("text-contains-ignore-both", C("name", "contains", "dang van duc", options=CI_AI), TEXTS, ["t10"]),
    case("text-starts-with-ignore-case", C("name", "starts_with", "đặng", options=CI), TEXTS, ["t10"]),
    case("text-ends-with-folds-rule-value", C("name", "ends_with", "ức", options=AI), TEXTS, ["t10"]),
    case("text-ends-with-ignore-accents-plain", C("name", "ends_with", "uc", options=AI), TEXTS, ["t10"]),
    case("text-contains-ignore-case-percent", C("name", "contains", "% OFF", options=CI), TEXTS, ["t01"]),
    # --- a string type registered by a plugin ------------------------------------------------
    case("plugin-type-eq-nfd-profile", C("nickname", "eq", "Hà"), NICKNAMES, ["k1", "k2"]),
    case("plugin-type-ne-nfd-profile", C("nickname", "ne", "Hà"), NICKNAMES, ["k3", "k4"]),
    case("plugin-type-eq-ignore-both", C("nickname", "eq", "ha", options=CI_AI), NICKNAMES, ["k1", "k2", "k3"]),
]
