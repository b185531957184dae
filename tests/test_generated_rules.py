"""Random valid rules on random profiles: every SQL database selects what the evaluator selects.

Each example is a batch: one set of profiles, loaded once, and several rules run on it.
Values come from small pools with the hard cases in them (NFD text, pattern
characters, trailing spaces, window edges, 29 February, null, missing and empty
values), so that rules and profiles meet often.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from segmento.engine.ast import (
    Comparison,
    Condition,
    EventCondition,
    Group,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.evaluator import select
from segmento.engine.profiles import coerce_profile
from segmento.engine.types import FieldType
from segmento.engine.validation import segment_problems
from segmento.engine.values import PERIOD_NAMES, CalendarPeriod, Duration
from tests.cases import case_registry
from tests.conftest import SqlBackend

EXAMPLES = int(os.environ.get("SEGMENTO_GENERATED_EXAMPLES", "25"))
"""Batches per SQL target; raise it for a longer search."""

REGISTRY = case_registry()
UNSUPPORTED_IN_SQL = frozenset({"is_palindrome"})
"""Operators of the case catalog that only the in-memory target implements."""

AS_OF_CHOICES = (
    datetime(2024, 3, 1, 2, 0, tzinfo=UTC),
    datetime(2024, 2, 29, 17, 30, tzinfo=UTC),
    datetime(2025, 2, 28, 5, 0, tzinfo=UTC),
    datetime(2024, 12, 31, 16, 59, 59, tzinfo=UTC),
)
TIMEZONES = ("Asia/Ho_Chi_Minh", "UTC", "America/Sao_Paulo")

# --- value pools ----------------------------------------------------------------------

TEXTS = (
    "Hà Nội",
    unicodedata.normalize("NFD", "Hà Nội"),
    "HÀ NỘI",
    "ha noi",
    "Hà Nội ",
    "Đà Nẵng",
    "da nang",
    "",
    " ",
    "50% off",
    "50 percent off",
    "a_b",
    "aXb",
    "x.y*z",
    "Tom & Jerry's",
    "C:\\shop\\đồ",
    "Straße",
    "STRASSE",
    "1001",
    "1001.0",
)
TEXT_ALPHABET = "aAàÀđĐơƠ%_\\'.*& 1"
KEYS = ("1", "2", "3", "85123A", "home.kitchen", "toys", "giày", "Giày", "a%b", "a_b")
CATEGORIES = ("shoes", "shoes.running", "shoes.running.trail", "shoesx", "a_b.c", "axb.c", "bags")
PRODUCTS = ("1", "2", "3", "85123A")
EVENT_KINDS = ("add_to_cart", "purchase", "product_view")
SEGMENT_IDS = ("vip", "blocked", "newsletter")
DATES = (
    date(2000, 2, 29),
    date(2004, 2, 28),
    date(2006, 3, 1),
    date(2006, 3, 2),
    date(1990, 12, 31),
    date(2024, 2, 23),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2025, 2, 28),
)
INTEGERS = (-1, 0, 1, 2, 3, 7, 18, 1001, 2**62)
DECIMALS = tuple(Decimal(text) for text in ("0", "0.0001", "-0.0001", "0.1", "0.10", "1", "2.5", "12.5", "5000000"))

# The pools come first and twice, so rules and profiles often share values.
texts = st.one_of(st.sampled_from(TEXTS), st.sampled_from(TEXTS), st.text(TEXT_ALPHABET, max_size=4)).map(
    lambda text: unicodedata.normalize("NFC", text)
)
stored_decimals = st.one_of(
    st.sampled_from(DECIMALS),
    st.sampled_from(DECIMALS),
    st.decimals(min_value=-100, max_value=100, places=4, allow_nan=False, allow_infinity=False),
)
rule_decimals = st.one_of(
    stored_decimals,
    st.decimals(min_value=-100, max_value=100, places=5, allow_nan=False, allow_infinity=False),
)
integers = st.one_of(st.sampled_from(INTEGERS), st.sampled_from(INTEGERS), st.integers(min_value=-3, max_value=20))
dates = st.one_of(
    st.sampled_from(DATES),
    st.sampled_from(DATES),
    st.dates(min_value=date(1950, 1, 1), max_value=date(2030, 12, 31)),
)

def instants_near(as_of: datetime) -> st.SearchStrategy[datetime]:
    """Return instants on the edges of windows around ``as_of``, and anywhere within 400 days."""
    edges = [
        as_of,
        as_of + timedelta(microseconds=1),
        as_of - timedelta(days=7),
        as_of - timedelta(days=1),
        as_of - timedelta(hours=2),
        as_of + timedelta(days=1),
        datetime(2024, 2, 29, 16, 59, 59, tzinfo=UTC),
        datetime(2024, 2, 29, 17, 0, tzinfo=UTC),
        datetime(2024, 2, 25, 17, 0, tzinfo=UTC),
    ]
    offsets = st.integers(min_value=-400 * 86400, max_value=400 * 86400).map(lambda seconds: timedelta(seconds=seconds))
    return st.one_of(st.sampled_from(edges), st.sampled_from(edges), offsets.map(lambda offset: as_of + offset))


# --- profiles ---------------------------------------------------------------------------


def _scalar_values(kind: str, as_of: datetime) -> st.SearchStrategy[Any]:
    if kind == "string":
        return texts
    if kind == "integer":
        return integers
    if kind == "decimal":
        return stored_decimals.map(str)
    if kind == "boolean":
        return st.booleans()
    if kind == "date":
        return dates.map(date.isoformat)
    return instants_near(as_of).map(lambda instant: instant.isoformat())


def _field_values(field_type: FieldType, as_of: datetime) -> st.SearchStrategy[Any]:
    if field_type.scalar is not None:
        return _scalar_values(field_type.scalar, as_of)
    if field_type.name == "string_list":
        return st.lists(st.one_of(texts, st.sampled_from(KEYS)), max_size=4)
    if field_type.name == "number_list":
        return st.lists(stored_decimals.map(str), max_size=3)
    if field_type.name == "count_map":
        return st.dictionaries(st.sampled_from(KEYS), st.integers(min_value=0, max_value=10), max_size=4)
    if field_type.name == "score_map":
        return st.dictionaries(st.sampled_from(KEYS), stored_decimals.map(str), max_size=4)
    return st.lists(st.sampled_from(KEYS), max_size=5)


@st.composite
def events(draw: st.DrawFn, as_of: datetime) -> dict[str, Any]:
    event: dict[str, Any] = {
        "kind": draw(st.sampled_from(EVENT_KINDS)),
        "time": draw(instants_near(as_of)).isoformat(),
    }
    event["product_id"] = draw(st.one_of(st.none(), st.sampled_from(PRODUCTS)))
    event["category"] = draw(st.one_of(st.none(), st.sampled_from(CATEGORIES)))
    event["price"] = draw(st.one_of(st.none(), st.sampled_from(("0.5", "10", "100.5", "19.99"))))
    event["quantity"] = draw(st.one_of(st.none(), st.sampled_from((1, 2, 3, "1.5"))))
    return event


@st.composite
def profiles(draw: st.DrawFn, as_of: datetime) -> list[dict[str, Any]]:
    """Return profiles where each stored field is present, null or missing."""
    count = draw(st.integers(min_value=6, max_value=18))
    result: list[dict[str, Any]] = []
    for index in range(count):
        profile: dict[str, Any] = {"id": f"p{index:02d}"}
        for spec in REGISTRY.catalog.fields.values():
            if spec.derived_from is not None:
                continue
            presence = draw(st.sampled_from(("value", "value", "null", "missing")))
            if presence == "value":
                profile[spec.name] = draw(_field_values(REGISTRY.types[spec.type], as_of))
            elif presence == "null":
                profile[spec.name] = None
        profile["events"] = draw(st.one_of(st.none(), st.lists(events(as_of), max_size=4)))
        if draw(st.booleans()):
            profile["segments"] = draw(st.lists(st.sampled_from(SEGMENT_IDS), max_size=2, unique=True))
        result.append(profile)
    return result


# --- rules ------------------------------------------------------------------------------

text_options = st.builds(TextOptions, st.booleans(), st.booleans())
durations = st.builds(
    Duration, st.integers(min_value=1, max_value=40), st.sampled_from(("minutes", "hours", "days", "weeks"))
)
day_durations = st.builds(Duration, st.integers(min_value=1, max_value=40), st.sampled_from(("days", "weeks")))
periods = st.sampled_from(PERIOD_NAMES).map(CalendarPeriod)


def _ordered_pair(values: st.SearchStrategy[Any]) -> st.SearchStrategy[tuple[Any, Any]]:
    return st.tuples(values, values).map(lambda pair: tuple(sorted(pair)))


def _rule_values(kind: str, as_of: datetime) -> st.SearchStrategy[Any]:
    if kind == "string":
        return texts
    if kind == "integer":
        return integers
    if kind == "decimal":
        return rule_decimals
    if kind == "boolean":
        return st.booleans()
    if kind == "date":
        return dates
    aware = instants_near(as_of)
    naive_local = aware.map(lambda instant: instant.replace(tzinfo=None))
    return st.one_of(aware, naive_local)


def _value_for(operator: str, kind: str, as_of: datetime) -> st.SearchStrategy[Any]:
    """Return values that ``operator`` takes on a scalar of ``kind``."""
    values = _rule_values(kind, as_of)
    if operator in ("between", "not_between"):
        if kind == "datetime":
            return _ordered_pair(instants_near(as_of))
        return _ordered_pair(values)
    if operator in ("in", "not_in"):
        return st.lists(values, min_size=1, max_size=3).map(tuple)
    if operator in ("is_set", "is_not_set", "birthday_today", "is_empty", "is_not_empty"):
        return st.none()
    if operator in ("in_last", "not_in_last", "in_next"):
        return day_durations if kind == "date" else durations
    if operator in ("in_period", "not_in_period"):
        return periods
    if operator == "birthday_in_next":
        return st.integers(min_value=0, max_value=366)
    if operator == "birthday_in_month":
        return st.integers(min_value=1, max_value=12)
    if operator == "on":
        return dates
    if operator in ("before", "after") and kind == "datetime":
        return st.one_of(dates, values)
    return values


def _distinct_keys(pool: tuple[str, ...]) -> st.SearchStrategy[tuple[str, ...]]:
    """Return key lists of one or two keys, each listed once as validation requires."""
    return st.lists(st.sampled_from(pool), min_size=1, max_size=2, unique=True).map(tuple)


@st.composite
def comparisons(draw: st.DrawFn, as_of: datetime) -> Comparison:
    spec = draw(st.sampled_from(sorted(REGISTRY.catalog.fields.values(), key=lambda item: item.name)))
    field_type = REGISTRY.types[spec.type]
    keyed = field_type.keyed is not None and draw(st.booleans())
    if keyed:
        operator = draw(st.sampled_from(sorted(field_type.keyed_operators)))
        include = tuple(draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=3, unique=True)))
        kind = "decimal" if field_type.keyed == "decimal" else "integer"
        return Comparison(spec.name, operator, draw(_value_for(operator, kind, as_of)), include=include)
    operator = draw(st.sampled_from(sorted(field_type.operators - UNSUPPORTED_IN_SQL)))
    if spec.derived_from is not None:
        kind = "integer"
        values = st.integers(min_value=-2, max_value=80)
        if operator in ("between", "not_between"):
            value = draw(_ordered_pair(values))
        elif operator in ("in", "not_in"):
            value = tuple(draw(st.lists(values, min_size=1, max_size=3)))
        elif operator in ("is_set", "is_not_set"):
            value = None
        else:
            value = draw(values)
        return Comparison(spec.name, operator, value)
    if field_type.scalar is None:
        member = field_type.member or "string"
        if operator in ("is_empty", "is_not_empty"):
            return Comparison(spec.name, operator)
        pool = st.sampled_from(KEYS) if member == "string" else rule_decimals
        if member == "string" and field_type.name == "string_list":
            pool = st.one_of(pool, texts)
        value = tuple(draw(st.lists(pool, min_size=1, max_size=3)))
        options = draw(text_options) if member == "string" else TextOptions()
        return Comparison(spec.name, operator, value, options=options)
    kind = field_type.scalar
    options = draw(text_options) if kind == "string" and operator not in ("is_set", "is_not_set") else TextOptions()
    if spec.allowed_values is not None and operator in ("eq", "ne", "in", "not_in"):
        allowed = st.sampled_from(spec.allowed_values)
        if operator in ("in", "not_in"):
            items = tuple(draw(st.lists(allowed, min_size=1, max_size=2)))
            return Comparison(spec.name, operator, items, options=options)
        return Comparison(spec.name, operator, draw(allowed), options=options)
    return Comparison(spec.name, operator, draw(_value_for(operator, kind, as_of)), options=options)


@st.composite
def event_conditions(draw: st.DrawFn) -> EventCondition:
    aggregate = draw(st.sampled_from(("count", "sum")))
    operator = draw(st.sampled_from(("eq", "ne", "gt", "gte", "lt", "lte", "between", "not_between")))
    numbers = st.integers(min_value=0, max_value=4) if aggregate == "count" else rule_decimals.map(abs)
    value = draw(_ordered_pair(numbers)) if "between" in operator else draw(numbers)
    return EventCondition(
        draw(st.sampled_from(EVENT_KINDS)),
        aggregate,
        operator,
        value,
        measure=draw(st.sampled_from(("value", "price", "quantity"))) if aggregate == "sum" else None,
        products=draw(st.none() | _distinct_keys(PRODUCTS)),
        categories=draw(st.none() | _distinct_keys(CATEGORIES)),
        window=draw(st.one_of(st.none(), durations, periods)),
    )


def conditions(as_of: datetime) -> st.SearchStrategy[Condition]:
    leaves = st.one_of(
        comparisons(as_of),
        comparisons(as_of),
        event_conditions(),
        st.builds(SegmentRef, st.sampled_from(SEGMENT_IDS), negated=st.booleans()),
    )
    return st.recursive(
        leaves,
        lambda children: st.builds(
            Group,
            st.sampled_from(("all", "any", "none")),
            st.lists(children, min_size=1, max_size=3).map(tuple),
            negated=st.booleans(),
        ),
        max_leaves=6,
    )


@dataclass(frozen=True)
class Batch:
    as_of: datetime
    timezone: str
    profiles: list[dict[str, Any]]
    rules: list[Condition]


@st.composite
def batches(draw: st.DrawFn) -> Batch:
    as_of = draw(st.sampled_from(AS_OF_CHOICES))
    timezone = draw(st.sampled_from(TIMEZONES))
    rules = draw(st.lists(conditions(as_of), min_size=8, max_size=12))
    return Batch(as_of, timezone, draw(profiles(as_of)), rules)


# --- the test ---------------------------------------------------------------------------


def _problems(rule: Condition) -> list[str]:
    return [str(problem) for problem in segment_problems(Segment("generated", "generated", rule), REGISTRY)]


def _explain(rule: Condition, stored: list[Mapping[str, Any]], expected: list[str], selected: list[str]) -> str:
    differing = sorted(set(expected) ^ set(selected))
    differing_profiles = [profile for profile in stored if profile["id"] in differing]
    return f"rule {rule!r}\nexpected {expected}\nselected {selected}\nprofiles that differ: {differing_profiles}"


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # Shrinking reloads the databases for every attempt and takes minutes; the failure
    # message already names the rule and the profiles the targets disagree on.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)
@given(batch=batches())
def test_sql_selects_what_evaluator_selects(sql_backend: SqlBackend, batch: Batch) -> None:
    sql_backend.load(batch.profiles)
    coerced = [coerce_profile(raw, REGISTRY) for raw in batch.profiles]

    for rule in batch.rules:
        assert _problems(rule) == [], "the generator made an invalid rule"
        expected = sorted(select(rule, coerced, REGISTRY, as_of=batch.as_of, timezone=batch.timezone))
        selected = sql_backend.store.members(rule, as_of=batch.as_of, timezone=batch.timezone)
        assert selected == expected, _explain(rule, coerced, expected, selected)

