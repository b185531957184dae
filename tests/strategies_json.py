"""Hypothesis strategies for rule ASTs that the JSON form can hold.

The generated segments match the rule schema (value shapes of the built-in operators,
durations of at least 1, non-empty include lists) but not necessarily the field
catalog: field names and plugin operators are arbitrary, as the JSON form does not
depend on the registry.
"""

from __future__ import annotations

from datetime import timedelta, timezone
from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

from segmento.engine.ast import Comparison, Condition, EventCondition, Group, Segment, SegmentRef, TextOptions
from segmento.engine.catalog import EVENT_MEASURES
from segmento.engine.operators import BUILTIN_OPERATORS
from segmento.engine.text import normalize
from segmento.engine.validation_events import EVENT_OPERATORS
from segmento.engine.values import DURATION_UNITS, PERIOD_NAMES, CalendarPeriod, Duration

identifiers = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,15}", fullmatch=True)
texts = st.text(max_size=12).map(normalize)
names = st.text(min_size=1, max_size=12).map(normalize)

# Offsets in whole minutes: ISO 8601 text has no seconds in an offset.
offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)

SCALARS: dict[str, st.SearchStrategy[Any]] = {
    "string": texts,
    "integer": st.integers(min_value=-(10**15), max_value=10**15),
    "number": st.decimals(allow_nan=False, allow_infinity=False),
    "boolean": st.booleans(),
    "date": st.dates(),
    "datetime": st.datetimes(timezones=st.none() | offsets),
}
ORDERED_KINDS = ("string", "integer", "number", "date", "datetime")

durations = st.builds(Duration, st.integers(min_value=1, max_value=10_000), st.sampled_from(DURATION_UNITS))
periods = st.builds(CalendarPeriod, st.sampled_from(PERIOD_NAMES))

scalar_values = st.sampled_from(sorted(SCALARS)).flatmap(lambda kind: SCALARS[kind])
pair_values = st.sampled_from(ORDERED_KINDS).flatmap(lambda kind: st.tuples(SCALARS[kind], SCALARS[kind]))
list_values = st.sampled_from(sorted(SCALARS)).flatmap(
    lambda kind: st.lists(SCALARS[kind], max_size=4).map(tuple)
)

VALUES_BY_SHAPE: dict[str, st.SearchStrategy[Any]] = {
    "none": st.none(),
    "scalar": scalar_values,
    "pair": pair_values,
    "list": list_values,
    "duration": durations,
    "period": periods,
    "month": st.integers(min_value=1, max_value=12),
    "days": st.integers(min_value=0, max_value=366),
}

# Operators that no built-in plugin registers take any value the JSON form can hold.
plugin_operator_values = st.tuples(
    st.sampled_from(["near", "plugin_operator"]),
    st.one_of(st.none(), scalar_values, list_values, durations, periods),
)
operator_values = st.one_of(
    st.sampled_from(BUILTIN_OPERATORS).flatmap(
        lambda spec: st.tuples(st.just(spec.name), VALUES_BY_SHAPE[spec.shape])
    ),
    plugin_operator_values,
)

keys = st.lists(texts, min_size=1, max_size=3).map(tuple)


@st.composite
def comparisons(draw: st.DrawFn) -> Comparison:
    operator, value = draw(operator_values)
    return Comparison(
        field=draw(identifiers),
        operator=operator,
        value=value,
        include=draw(st.none() | keys),
        options=TextOptions(ignore_case=draw(st.booleans()), ignore_accents=draw(st.booleans())),
    )


non_negative = st.one_of(
    st.integers(min_value=0, max_value=10**12),
    st.decimals(min_value=0, allow_nan=False, allow_infinity=False),
)


@st.composite
def event_conditions(draw: st.DrawFn) -> EventCondition:
    operator = draw(st.sampled_from(sorted(EVENT_OPERATORS)))
    if operator in ("between", "not_between"):
        kind = draw(st.sampled_from(["integer", "number"]))
        bound = st.integers(min_value=0, max_value=10**12) if kind == "integer" else st.decimals(
            min_value=0, allow_nan=False, allow_infinity=False
        )
        value: Any = draw(st.tuples(bound, bound))
    else:
        value = draw(non_negative)
    return EventCondition(
        event=draw(identifiers),
        aggregate=draw(st.sampled_from(["count", "sum"])),
        operator=operator,
        value=value,
        measure=draw(st.none() | st.sampled_from(EVENT_MEASURES)),
        products=draw(st.none() | keys),
        categories=draw(st.none() | keys),
        window=draw(st.one_of(st.none(), durations, periods)),
    )


segment_refs = st.builds(SegmentRef, identifiers, st.booleans())

leaves: st.SearchStrategy[Condition] = st.one_of(comparisons(), event_conditions(), segment_refs)

conditions: st.SearchStrategy[Condition] = st.recursive(
    leaves,
    lambda children: st.builds(
        Group,
        st.sampled_from(["all", "any", "none"]),
        st.lists(children, min_size=1, max_size=4).map(tuple),
        st.booleans(),
    ),
    max_leaves=12,
)

segments = st.builds(Segment, id=identifiers, name=names, condition=conditions, description=texts)


def exact_number(value: Any) -> bool:
    """Tell whether ``value`` is an exact number: an ``int`` or a finite ``Decimal``, never a float."""
    return isinstance(value, int) or (isinstance(value, Decimal) and value.is_finite())
