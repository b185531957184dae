"""Profile coercion from the JSON form, and reading JSON Lines profile files."""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmento.adapters.sql_store import SqlProfileStore
from segmento.engine.ast import Comparison
from segmento.engine.catalog import FieldSpec
from segmento.engine.errors import DataError
from segmento.engine.evaluator import select
from segmento.engine.hookspecs import hookimpl
from segmento.engine.profiles import coerce_profile, read_profiles_jsonl
from segmento.engine.registry import Registry, build_registry, get_registry, make_plugin_manager
from segmento.engine.types import FieldType

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


def coerce(registry: Registry, **fields: Any) -> dict[str, Any]:
    return coerce_profile({"id": "p1", **fields}, registry)


def coercion_error(registry: Registry, **fields: Any) -> DataError:
    with pytest.raises(DataError) as caught:
        coerce_profile({"id": "p1", **fields}, registry, source="profiles.jsonl:12")
    return caught.value


# --- scalars ------------------------------------------------------------------------------


def test_architecture_example() -> None:
    profile = coerce_profile(
        {
            "id": "17850",
            "city": "Hà Nội",
            "total_purchase_value": "5000000.00",
            "birthday": "1990-02-28",
            "last_purchase_at": "2011-12-09T12:50:00Z",
            "long_term_interests": {"home.kitchen": 12.5},
            "product_views": {"85123A": 3},
            "short_term_interests": ["home.kitchen", "toys"],
            "events": [
                {
                    "kind": "add_to_cart",
                    "time": "2019-10-01T00:00:00Z",
                    "product_id": "1",
                    "category": "electronics.smartphone",
                    "price": "10.50",
                    "quantity": 1,
                }
            ],
            "segments": ["vip_hanoi"],
        }
    )
    assert profile["total_purchase_value"] == Decimal("5000000.00")
    assert isinstance(profile["total_purchase_value"], Decimal)
    assert profile["birthday"] == date(1990, 2, 28)
    assert profile["last_purchase_at"] == datetime(2011, 12, 9, 12, 50, tzinfo=UTC)
    assert profile["long_term_interests"] == {"home.kitchen": Decimal("12.5")}
    assert profile["product_views"] == {"85123A": 3}
    assert profile["short_term_interests"] == ["home.kitchen", "toys"]
    assert profile["events"][0]["value"] == Decimal("10.50")
    assert profile["events"][0]["time"] == datetime(2019, 10, 1, tzinfo=UTC)
    assert profile["segments"] == ["vip_hanoi"]


def test_strings_become_nfc(registry: Registry) -> None:
    decomposed = unicodedata.normalize("NFD", "Đà Nẵng")
    assert coerce(registry, city=decomposed)["city"] == "Đà Nẵng"
    assert coerce(registry, tags=[decomposed])["tags"] == ["Đà Nẵng"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(5, Decimal(5)), (0.1, Decimal("0.1")), ("0.10", Decimal("0.10")), ("-3", Decimal(-3)), ("1e3", Decimal("1e3")),
     (Decimal("2.5"), Decimal("2.5")), (".5", Decimal("0.5"))],
)
def test_decimal_values(registry: Registry, raw: Any, expected: Decimal) -> None:
    value = coerce(registry, avg_purchase_value=raw)["avg_purchase_value"]
    assert value == expected
    assert isinstance(value, Decimal)


@pytest.mark.parametrize("raw", ["1,000", "1_000", "NaN", "Infinity", " 5", "abc", "", True, [1], {"a": 1}])
def test_decimal_rejects(registry: Registry, raw: Any) -> None:
    error = coercion_error(registry, avg_purchase_value=raw)
    assert error.location.pointer == "/avg_purchase_value"
    assert error.location.source == "profiles.jsonl:12"
    assert "avg_purchase_value" in error.message


@pytest.mark.parametrize(("raw", "expected"), [(3, 3), ("12", 12), (12.0, 12), (Decimal("4.00"), 4), ("-2", -2)])
def test_integer_values(registry: Registry, raw: Any, expected: int) -> None:
    value = coerce(registry, total_purchase=raw)["total_purchase"]
    assert value == expected
    assert type(value) is int


@pytest.mark.parametrize("raw", [12.5, "12.5", "twelve", False])
def test_integer_rejects(registry: Registry, raw: Any) -> None:
    assert coercion_error(registry, total_purchase=raw).location.pointer == "/total_purchase"


def test_booleans(registry: Registry) -> None:
    assert coerce(registry, is_subscribed=False)["is_subscribed"] is False
    assert coercion_error(registry, is_subscribed=0).location.pointer == "/is_subscribed"
    assert coercion_error(registry, is_subscribed="true").location.pointer == "/is_subscribed"


def test_dates(registry: Registry) -> None:
    assert coerce(registry, birthday="2000-02-29")["birthday"] == date(2000, 2, 29)
    assert "2023-02-29" in coercion_error(registry, birthday="2023-02-29").message
    assert coercion_error(registry, birthday="2023/02/28").location.pointer == "/birthday"
    assert coercion_error(registry, birthday="20230228").location.pointer == "/birthday"
    assert coercion_error(registry, birthday="2023-02-28T00:00:00").location.pointer == "/birthday"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2024-05-14T17:00:00Z", datetime(2024, 5, 14, 17, 0, tzinfo=UTC)),
        ("2024-05-15T00:00:00+07:00", datetime(2024, 5, 14, 17, 0, tzinfo=UTC)),
        ("2024-05-14T17:00:00", datetime(2024, 5, 14, 17, 0, tzinfo=UTC)),
        ("2024-05-14 17:00:00.250000", datetime(2024, 5, 14, 17, 0, 0, 250000, tzinfo=UTC)),
        (datetime(2024, 5, 14, 17, 0), datetime(2024, 5, 14, 17, 0, tzinfo=UTC)),
    ],
)
def test_datetimes_are_aware_utc(registry: Registry, raw: Any, expected: datetime) -> None:
    value = coerce(registry, last_purchase_at=raw)["last_purchase_at"]
    assert value == expected
    assert value.utcoffset() is not None
    assert value.utcoffset().total_seconds() == 0  # type: ignore[union-attr]


@pytest.mark.parametrize("raw", ["2024-05-14", "yesterday", "2024-13-01T00:00:00Z", 1715706000])
def test_datetime_rejects(registry: Registry, raw: Any) -> None:
    assert coercion_error(registry, last_purchase_at=raw).location.pointer == "/last_purchase_at"


# --- lists, maps, events, segments -----------------------------------------------------------------


def test_lists_and_maps(registry: Registry) -> None:
    profile = coerce(
        registry,
        tags=["vip", "Giày"],
        lucky_numbers=[7, "2.50", 0.1],
        product_views={"85123A": 3, "22": "4"},
        long_term_interests={"toys": "1.25"},
        short_term_interests=["toys", "home"],
    )
    assert profile["tags"] == ["vip", "Giày"]
    assert profile["lucky_numbers"] == [Decimal(7), Decimal("2.50"), Decimal("0.1")]
    assert profile["product_views"] == {"85123A": 3, "22": 4}
    assert profile["long_term_interests"] == {"toys": Decimal("1.25")}
    assert profile["short_term_interests"] == ["toys", "home"]


def test_list_member_error_pointer(registry: Registry) -> None:
    assert coercion_error(registry, tags=["a", 3]).location.pointer == "/tags/1"
    assert coercion_error(registry, tags="vip").location.pointer == "/tags"
    assert coercion_error(registry, product_views={"85123A": 1.5}).location.pointer == "/product_views/85123A"
    assert coercion_error(registry, long_term_interests={"a/b": "x"}).location.pointer == "/long_term_interests/a~1b"


def test_map_keys_become_strings(registry: Registry) -> None:
    assert coerce(registry, product_views={1234: 2})["product_views"] == {"1234": 2}


def test_null_and_empty_values_are_kept(registry: Registry) -> None:
    profile = coerce(registry, city=None, tags=[], product_views={})
    assert profile["city"] is None
    assert profile["tags"] == []
    assert profile["product_views"] == {}


def test_events(registry: Registry) -> None:
    events = coerce(
        registry,
        events=[
            {"kind": "purchase", "time": "2024-05-01T10:00:00+07:00", "product_id": 85123, "price": "10.50",
             "quantity": 3, "channel": "web"},
            {"kind": "purchase", "time": "2024-05-01T03:00:00Z", "price": 2, "quantity": 2, "value": "3.99"},
            {"kind": "page_view", "time": "2024-05-01T03:00:00Z", "category": unicodedata.normalize("NFD", "Giày")},
        ],
    )["events"]
    assert events[0]["time"] == datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    assert events[0]["product_id"] == "85123"
    assert events[0]["value"] == Decimal("31.50")
    assert events[0]["channel"] == "web"
    assert events[1]["value"] == Decimal("3.99")
    assert events[2]["category"] == "Giày"
    assert "value" not in events[2]


def test_event_errors_point_into_the_list(registry: Registry) -> None:
    good = {"kind": "purchase", "time": "2024-05-01T03:00:00Z"}
    bad_time = coercion_error(registry, events=[good, good, good, {"kind": "purchase", "time": "soon"}])
    assert bad_time.location.pointer == "/events/3/time"
    assert str(bad_time).startswith("profiles.jsonl:12#/events/3/time: ")
    no_time = coercion_error(registry, events=[{"kind": "purchase"}])
    assert no_time.location.pointer == "/events/0/time"
    assert coercion_error(registry, events=[good, "purchase"]).location.pointer == "/events/1"
    assert coercion_error(registry, events=[{**good, "price": "ten"}]).location.pointer == "/events/0/price"


def test_segments(registry: Registry) -> None:
    assert coerce(registry, segments=["vip", 12])["segments"] == ["vip", "12"]
    assert coercion_error(registry, segments=[None]).location.pointer == "/segments/0"


# --- id, unknown and derived keys ---------------------------------------------------------------------


def test_id_is_required_and_becomes_string(registry: Registry) -> None:
    assert coerce_profile({"id": 17850}, registry)["id"] == "17850"
    with pytest.raises(DataError) as caught:
        coerce_profile({"city": "Huế"}, registry, source="profiles.jsonl:3")
    assert caught.value.location.pointer == "/id"
    assert caught.value.location.source == "profiles.jsonl:3"
    with pytest.raises(DataError):
        coerce_profile({"id": None}, registry)
    with pytest.raises(DataError):
        coerce_profile({"id": True}, registry)


def test_unknown_keys_are_kept(registry: Registry) -> None:
    profile = coerce(registry, loyalty_tier={"level": 2}, note=1.5)
    assert profile["loyalty_tier"] == {"level": 2}
    assert profile["note"] == 1.5


def test_derived_fields_are_not_stored(registry: Registry) -> None:
    profile = coerce(registry, birthday="1990-05-15", age=34)
    assert "age" not in profile
    assert profile["birthday"] == date(1990, 5, 15)


def test_profile_must_be_an_object(registry: Registry) -> None:
    with pytest.raises(DataError, match="must be a JSON object"):
        coerce_profile(["id", "1"], registry)  # type: ignore[arg-type]


# --- JSON Lines files ------------------------------------------------------------------------------


def test_read_jsonl_with_bom_and_blank_lines(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"
        + '{"id": "1", "city": "Hà Nội", "avg_purchase_value": 0.1}\n'.encode()
        + b"\n   \n"
        + b'{"id": 2, "total_purchase": 3.0}\n'
        + b'{"id": "3"}'
    )
    profiles = list(read_profiles_jsonl(path, registry))
    assert [profile["id"] for profile in profiles] == ["1", "2", "3"]
    assert profiles[0]["city"] == "Hà Nội"
    assert profiles[0]["avg_purchase_value"] == Decimal("0.1")
    assert isinstance(profiles[0]["avg_purchase_value"], Decimal)
    assert profiles[1]["total_purchase"] == 3


def test_read_jsonl_bad_value_names_line(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_text('{"id": "1"}\n\n{"id": "2", "birthday": "15/05/1990"}\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_profiles_jsonl(path, registry))
    assert caught.value.location.source == f"{path}:3"
    assert caught.value.location.pointer == "/birthday"


def test_read_jsonl_invalid_json_names_line_and_column(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_text('{"id": "1"}\n{"id": "2",, }\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_profiles_jsonl(path, registry))
    assert caught.value.location.line == 2
    assert caught.value.location.column == 12
    assert str(caught.value).startswith(f"{path}:2:12: invalid JSON")


def test_read_jsonl_invalid_utf8_names_line(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_bytes(b'{"id": "1"}\n{"id": "2", "city": "H\xe0 N\xf4i"}\n')
    with pytest.raises(DataError, match="not valid UTF-8") as caught:
        list(read_profiles_jsonl(path, registry))
    assert caught.value.location.line == 2


def test_read_jsonl_line_must_be_object(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_text('[1, 2]\n', encoding="utf-8")
    with pytest.raises(DataError, match="must be a JSON object") as caught:
        list(read_profiles_jsonl(path, registry))
    assert caught.value.location.source == f"{path}:1"


def test_read_jsonl_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read profiles") as caught:
        list(read_profiles_jsonl(tmp_path / "absent.jsonl"))
    assert caught.value.location.source == str(tmp_path / "absent.jsonl")


# --- types registered by a plugin -----------------------------------------------------------------


class KindsPlugin:
    """Field types known only by their kinds: text, instants, lists of numbers, maps of counts, and no kind."""

    @hookimpl
    def segmento_field_types(self) -> Sequence[FieldType]:
        return (
            FieldType("word", frozenset({"eq", "ne", "is_set"}), scalar="string"),
            FieldType("moment", frozenset({"eq", "before", "is_set"}), scalar="datetime"),
            FieldType("scores", frozenset({"contains_any", "is_empty"}), member="decimal"),
            FieldType(
                "visits", frozenset({"contains_any"}), member="string", keyed="integer", keyed_operators=frozenset({"gte"})
            ),
            FieldType("opaque", frozenset({"is_set"})),
        )

    @hookimpl
    def segmento_fields(self) -> Sequence[FieldSpec]:
        return (
            FieldSpec("nickname", "word"),
            FieldSpec("joined_at", "moment"),
            FieldSpec("quiz_scores", "scores"),
            FieldSpec("store_visits", "visits"),
            FieldSpec("raw_blob", "opaque"),
        )


@pytest.fixture(scope="module")
def plugin_registry() -> Registry:
    return build_registry(make_plugin_manager([KindsPlugin()], load_entry_points=False))


def test_plugin_types_coerced_by_kind(plugin_registry: Registry) -> None:
    profile = coerce(
        plugin_registry,
        nickname=unicodedata.normalize("NFD", "Hà"),
        joined_at="2024-05-01T10:00:00+07:00",
        quiz_scores=[7, "2.50"],
        store_visits={unicodedata.normalize("NFD", "Huế"): "3"},
        raw_blob={"kept": 1.5},
    )

    assert profile["nickname"] == "Hà"
    assert unicodedata.is_normalized("NFC", profile["nickname"])
    assert profile["joined_at"] == datetime(2024, 5, 1, 3, 0, tzinfo=UTC)
    assert profile["quiz_scores"] == [Decimal(7), Decimal("2.50")]
    assert profile["store_visits"] == {"Huế": 3}
    assert profile["raw_blob"] == {"kept": 1.5}


def test_plugin_type_value_error_names_type(plugin_registry: Registry) -> None:
    error = coercion_error(plugin_registry, nickname=5)

    assert error.location.pointer == "/nickname"
    assert "'nickname' (word)" in error.message
    assert error.params == {"field": "nickname", "type": "word"}
    assert coercion_error(plugin_registry, quiz_scores=[1, "many"]).location.pointer == "/quiz_scores/1"


def test_plugin_type_nfd_text_matches(plugin_registry: Registry) -> None:
    raw_profiles = [
        {"id": "nfd", "nickname": unicodedata.normalize("NFD", "Hà")},
        {"id": "nfc", "nickname": "Hà"},
        {"id": "plain", "nickname": "Ha"},
        {"id": "none"},
    ]
    rule = Comparison("nickname", "eq", "Hà")
    store = SqlProfileStore(sa.create_engine("sqlite://"), plugin_registry)
    store.create_schema()
    store.write_profiles(raw_profiles)
    profiles = [coerce_profile(raw, plugin_registry) for raw in raw_profiles]

    in_memory = sorted(select(rule, profiles, plugin_registry))
    in_sqlite = store.members(rule)

    assert in_memory == ["nfc", "nfd"]
    assert in_sqlite == ["nfc", "nfd"]


def test_jsonl_duplicate_id_names_both_lines(tmp_path: Path) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_text('{"id": "a", "city": "Huế"}\n\n{"id": "b"}\n{"id": "a", "city": "Vinh"}\n', encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_profiles_jsonl(path))
    assert caught.value.code == "profiles_duplicate_id"
    assert caught.value.location.line == 4
    assert "first used on line 1" in caught.value.message


def test_jsonl_deep_nesting_is_data_error(tmp_path: Path) -> None:
    path = tmp_path / "profiles.jsonl"
    path.write_text('{"id": ' + "[" * 5000 + "]" * 5000 + "}\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        list(read_profiles_jsonl(path))
    assert caught.value.code == "profiles_too_deep"
    assert caught.value.location.line == 1
