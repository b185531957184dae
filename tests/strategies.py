"""Hypothesis strategies that generate rule nodes (``segmento.engine.ast``).

The nodes are well formed, not valid for a catalog: every value has the Python type
that its operator's value shape requires (``between`` gets a pair of one kind,
``in_last`` a ``Duration``, ...), and names are arbitrary. By default the nodes also
fit the JSON rule schema, so both rule forms can hold them. Use them as

    @given(segments())
    def test_something(segment): ...

``unusual=True`` adds nodes that only the DSL can hold: lists that mix kinds or nest,
empty groups and include lists, zero durations, segment ids that are not identifiers.
``extra_operators`` adds operators that no built-in spelling covers, as a plugin would.
``commented(nodes)`` adds ``#`` comments at every place a node has for them.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from segmento.engine.ast import (
    GROUP_KINDS,
    Comparison,
    Condition,
    EventCondition,
    Group,
    Node,
    Segment,
    SegmentRef,
    TextOptions,
)
from segmento.engine.catalog import EVENT_MEASURES
from segmento.engine.operators import BUILTIN_OPERATORS, OperatorSpec
from segmento.engine.text import normalize
from segmento.engine.types import KEYED_OPERATORS
from segmento.engine.values import (
    DURATION_UNITS,
    PERIOD_NAMES,
    CalendarPeriod,
    Duration,
)

_VIETNAMESE_WORDS = ("Hà Nội", "Đà Nẵng", "giày", "túi xách", "Khách VIP", "đồng hồ", "Huế", "ưu đãi")
_PLAIN_NAMES = ("city", "total_purchase_value", "product_views", "vip_hanoi", "add_to_cart", "_private", "x1")
_KEYWORD_NAMES = ("all", "birthday", "count", "in", "days", "segment", "none")
_ODD_NAMES = ("first name", "a.b", "tên-khách", "back`tick", "1st", "khách_hàng", "thành_phố")

EVENT_COMPARISONS = ("eq", "ne", "gt", "gte", "lt", "lte", "between", "not_between")
"""Operators of the generated event conditions: the ones the JSON schema allows there."""

_TEXT_OPERATORS = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
_ORDER_OPERATORS = frozenset({"gt", "gte", "lt", "lte", "between", "not_between"})
_TIME_OPERATORS = frozenset({"before", "after", "on"})


def texts(max_size: int = 20) -> st.SearchStrategy[str]:
    """Return NFC strings: Vietnamese words, quotes, backslashes, control and invisible characters."""
    anything = st.text(st.characters(exclude_categories=("Cs",)), max_size=max_size)
    tricky = st.sampled_from(('say "hi"', "C:\\path", "line\nbreak", "tab\there", "\u202eevil", "zero\u200bwidth"))
    return st.one_of(st.sampled_from(_VIETNAMESE_WORDS), tricky, anything).map(normalize)


_ASCII_LETTERS = string.ascii_letters + "_"
_ASCII_WORD = _ASCII_LETTERS + string.digits


def _joined(first: st.SearchStrategy[str], rest: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(first, rest).map("".join)


def names() -> st.SearchStrategy[str]:
    """Return non-empty field and event names, with keywords and names that need quoting among them."""
    letters = st.characters(categories=("Lu", "Ll", "Lo"))
    identifiers = _joined(letters, st.text(st.characters(categories=("Lu", "Ll", "Lo", "Nd")), max_size=12))
    anything = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=10).map(normalize)
    return st.one_of(
        st.sampled_from(_PLAIN_NAMES),
        st.sampled_from(_KEYWORD_NAMES),
        st.sampled_from(_ODD_NAMES),
        identifiers.map(normalize),
        anything,
    )


def segment_ids(unusual: bool = False) -> st.SearchStrategy[str]:
    """Return segment ids: ASCII identifiers as the JSON schema allows them, keywords among them."""
    ids = st.one_of(
        st.sampled_from(("vip_hanoi", "blocked_customers", "_draft", *_KEYWORD_NAMES)),
        _joined(st.sampled_from(_ASCII_LETTERS), st.text(_ASCII_WORD, max_size=30)),
    )
    return st.one_of(ids, names()) if unusual else ids


def keys() -> st.SearchStrategy[str]:
    """Return include keys and product or category ids: digit strings and text."""
    return st.one_of(st.text(string.digits, min_size=1, max_size=8), texts(max_size=10))


def key_tuples(min_size: int = 1) -> st.SearchStrategy[tuple[str, ...]]:
    return st.lists(keys(), min_size=min_size, max_size=4).map(tuple)


def decimals(min_value: int = -(10**12)) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=min_value, max_value=10**12, allow_nan=False, allow_infinity=False)


def datetimes() -> st.SearchStrategy[datetime]:
    """Return naive datetimes (shop local time) and datetimes with a whole-minute UTC offset."""
    offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(
        lambda minutes: timezone(timedelta(minutes=minutes))
    )
    return st.datetimes(
        min_value=datetime(1900, 1, 1),
        max_value=datetime(2100, 12, 31),
        timezones=st.one_of(st.none(), st.just(UTC), offsets),
    )


def scalars_of(kind: str) -> st.SearchStrategy[Any]:
    """Return values of one scalar kind: string, integer, decimal, boolean, date or datetime."""
    if kind == "string":
        return texts()
    if kind == "integer":
        return st.integers(min_value=-(10**15), max_value=10**15)
    if kind == "decimal":
        return decimals()
    if kind == "boolean":
        return st.booleans()
    if kind == "date":
        return st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31))
    if kind == "datetime":
        return datetimes()
    raise ValueError(f"unknown scalar kind {kind!r}")


def _kinds_for(operator: str) -> tuple[str, ...]:
    if operator in _TEXT_OPERATORS:
        return ("string",)
    if operator in _TIME_OPERATORS:
        return ("date", "datetime")
    if operator in _ORDER_OPERATORS:
        return ("integer", "decimal", "date", "datetime")
    return ("string", "integer", "decimal", "boolean", "date", "datetime")


def scalars() -> st.SearchStrategy[Any]:
    """Return one value of any scalar kind."""
    return st.one_of([scalars_of(kind) for kind in _kinds_for("eq")])


def durations(min_amount: int = 1) -> st.SearchStrategy[Duration]:
    return st.builds(Duration, st.integers(min_value=min_amount, max_value=100_000), st.sampled_from(DURATION_UNITS))


def periods() -> st.SearchStrategy[CalendarPeriod]:
    return st.sampled_from(PERIOD_NAMES).map(CalendarPeriod)


def _mixed_lists() -> st.SearchStrategy[tuple[Any, ...]]:
    return st.recursive(
        st.lists(scalars(), max_size=3).map(tuple),
        lambda inner: st.lists(st.one_of(scalars(), inner), max_size=3).map(tuple),
        max_leaves=6,
    )


@st.composite
def values_for(draw: st.DrawFn, spec: OperatorSpec, unusual: bool = False) -> Any:
    """Return a value of the Python type that ``spec``'s value shape requires."""
    shape = spec.shape
    kind = draw(st.sampled_from(_kinds_for(spec.name)))
    if shape == "none":
        return None
    if shape == "scalar":
        return draw(scalars_of(kind))
    if shape == "pair":
        if unusual and draw(st.booleans()):
            return draw(st.tuples(scalars(), scalars()))
        return draw(st.tuples(scalars_of(kind), scalars_of(kind)))
    if shape == "list":
        if unusual and draw(st.booleans()):
            return draw(_mixed_lists())
        return tuple(draw(st.lists(scalars_of(kind), min_size=1, max_size=4)))
    if shape == "duration":
        return draw(durations(min_amount=0 if unusual else 1))
    if shape == "period":
        return draw(periods())
    if shape == "month":
        return draw(st.integers(min_value=1, max_value=12))
    if shape == "days":
        return draw(st.integers(min_value=0, max_value=366))
    raise ValueError(f"unknown value shape {shape!r} of operator {spec.name!r}")


def text_options() -> st.SearchStrategy[TextOptions]:
    return st.builds(TextOptions, st.booleans(), st.booleans())


@st.composite
def comparisons(draw: st.DrawFn, extra_operators: Sequence[OperatorSpec] = (), unusual: bool = False) -> Comparison:
    """Return a comparison on any operator, with include keys where the operator takes them."""
    spec = draw(st.sampled_from((*BUILTIN_OPERATORS, *extra_operators)))
    include = None
    if spec.name in KEYED_OPERATORS:
        include = draw(st.none() | key_tuples(min_size=0 if unusual else 1))
    options = draw(text_options()) if spec.text_options else TextOptions()
    return Comparison(draw(names()), spec.name, draw(values_for(spec, unusual)), include, options)


@st.composite
def event_conditions(draw: st.DrawFn) -> EventCondition:
    """Return a count or sum of events compared with a number, maybe restricted and windowed."""
    aggregate = draw(st.sampled_from(("count", "sum")))
    operator = draw(st.sampled_from(EVENT_COMPARISONS))
    number = st.integers(min_value=0, max_value=10**9) if aggregate == "count" else decimals(min_value=0)
    value = draw(st.tuples(number, number)) if operator in ("between", "not_between") else draw(number)
    return EventCondition(
        draw(names()),
        aggregate,
        operator,
        value,
        measure=draw(st.sampled_from(EVENT_MEASURES)) if aggregate == "sum" else None,
        products=draw(st.none() | key_tuples()),
        categories=draw(st.none() | key_tuples()),
        window=draw(st.one_of(st.none(), durations(), periods())),
    )


def segment_refs(unusual: bool = False) -> st.SearchStrategy[SegmentRef]:
    return st.builds(SegmentRef, segment_ids(unusual), st.booleans())


def leaves(extra_operators: Sequence[OperatorSpec] = (), unusual: bool = False) -> st.SearchStrategy[Condition]:
    return st.one_of(comparisons(extra_operators, unusual), event_conditions(), segment_refs(unusual))


def conditions(
    max_leaves: int = 8, extra_operators: Sequence[OperatorSpec] = (), unusual: bool = False
) -> st.SearchStrategy[Condition]:
    """Return a leaf or a tree of groups with at most ``max_leaves`` leaves."""

    def grow(children: st.SearchStrategy[Condition]) -> st.SearchStrategy[Condition]:
        return st.builds(
            Group,
            st.sampled_from(GROUP_KINDS),
            st.lists(children, min_size=0 if unusual else 1, max_size=4).map(tuple),
            st.booleans(),
        )

    return st.recursive(leaves(extra_operators, unusual), grow, max_leaves=max_leaves)


@st.composite
def segments(draw: st.DrawFn, extra_operators: Sequence[OperatorSpec] = (), unusual: bool = False) -> Segment:
    """Return a segment whose condition is a group or a single leaf."""
    name = draw(texts()) if unusual else draw(texts().filter(bool))
    return Segment(
        id=draw(segment_ids(unusual)),
        name=name,
        condition=draw(conditions(extra_operators=extra_operators, unusual=unusual)),
        description=draw(st.just("") | texts(max_size=60)),
    )


# --- comments ------------------------------------------------------------------------------


def comment_lines() -> st.SearchStrategy[str]:
    """Return one comment as the parser keeps it: ``#``, then text without line breaks or trailing whitespace."""
    return texts(max_size=30).map(lambda text: ("# " + text.replace("\n", " ")).rstrip())


@st.composite
def comment_blocks(draw: st.DrawFn, max_size: int = 2) -> tuple[str, ...]:
    """Return comment lines, maybe with a blank line (an empty string) between two of them."""
    block: list[str] = []
    for index, line in enumerate(draw(st.lists(comment_lines(), max_size=max_size))):
        if index and draw(st.booleans()):
            block.append("")
        block.append(line)
    return tuple(block)


@st.composite
def commented(draw: st.DrawFn, nodes: st.SearchStrategy[Node]) -> Node:
    """Return a node of ``nodes`` with comments above, inline and trailing on it and on every node below it."""
    return _add_comments(draw, draw(nodes))


def _add_comments(draw: st.DrawFn, node: Node) -> Node:
    changes: dict[str, Any] = {
        "comments": draw(comment_blocks()),
        "inline_comment": draw(st.none() | comment_lines()),
    }
    if isinstance(node, Group):
        changes["conditions"] = tuple(_add_comments(draw, child) for child in node.conditions)
        changes["trailing_comments"] = draw(comment_blocks())
    elif isinstance(node, Segment):
        changes["condition"] = _add_comments(draw, node.condition)
        changes["trailing_comments"] = draw(comment_blocks())
    return replace(node, **changes)
