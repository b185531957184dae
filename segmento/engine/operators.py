"""Operator specifications: what each operator takes and which operator it negates.

An operator here is data, not behaviour. Each backend maps positive operators to its
own expression through a table. A negative operator (``ne``, ``not_in``,
``contains_none``, ...) names its positive one in ``negates``, and every backend
compiles it as the exact complement, so missing values cannot leak through.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

ValueShape = Literal["none", "scalar", "pair", "list", "duration", "period", "month", "days"]
"""Shape of an operator's value.

``scalar`` is one value of the field's type, ``pair`` the two inclusive bounds of
``between``, ``list`` several values, ``duration`` a ``Duration``, ``period`` a
``CalendarPeriod``, ``month`` a month number 1–12 and ``days`` a whole number of days.
"""


@dataclass(frozen=True, slots=True)
class OperatorSpec:
    """One operator: its name in rules, the value it takes and the operator it negates.

    ``text_options`` tells whether ``ignoring case`` / ``ignoring accents`` apply.
    ``member_values`` means that the value is compared with the members of a list or
    the keys of a map, not with the field as a whole.
    """

    name: str
    shape: ValueShape
    negates: str | None = None
    text_options: bool = False
    member_values: bool = False
    description: str = ""


BUILTIN_OPERATORS: Final[tuple[OperatorSpec, ...]] = (
    OperatorSpec("eq", "scalar", text_options=True, description="equals"),
    OperatorSpec("ne", "scalar", negates="eq", text_options=True, description="does not equal"),
    OperatorSpec("gt", "scalar", description="greater than"),
    OperatorSpec("gte", "scalar", description="greater than or equal to"),
    OperatorSpec("lt", "scalar", description="less than"),
    OperatorSpec("lte", "scalar", description="less than or equal to"),
    OperatorSpec("between", "pair", description="between two values, both included"),
    OperatorSpec("not_between", "pair", negates="between", description="outside two values"),
    OperatorSpec("in", "list", text_options=True, description="equals one of the values"),
    OperatorSpec("not_in", "list", negates="in", text_options=True, description="equals none of the values"),
    OperatorSpec("is_set", "none", description="has a value"),
    OperatorSpec("is_not_set", "none", negates="is_set", description="has no value"),
    OperatorSpec("contains", "scalar", text_options=True, description="contains the text"),
    OperatorSpec("not_contains", "scalar", negates="contains", text_options=True, description="does not contain"),
    OperatorSpec("starts_with", "scalar", text_options=True, description="starts with the text"),
    OperatorSpec("ends_with", "scalar", text_options=True, description="ends with the text"),
    OperatorSpec("contains_any", "list", text_options=True, member_values=True, description="has any of"),
    OperatorSpec("contains_all", "list", text_options=True, member_values=True, description="has all of"),
    OperatorSpec(
        "contains_none",
        "list",
        negates="contains_any",
        text_options=True,
        member_values=True,
        description="has none of",
    ),
    OperatorSpec("is_empty", "none", description="is an empty list"),
    OperatorSpec("is_not_empty", "none", negates="is_empty", description="has at least one member"),
    OperatorSpec("before", "scalar", description="before the date or time"),
    OperatorSpec("after", "scalar", description="after the date or time"),
    OperatorSpec("on", "scalar", description="on the local calendar day"),
    OperatorSpec("in_last", "duration", description="within the last N units before as_of"),
    OperatorSpec("not_in_last", "duration", negates="in_last", description="not within the last N units"),
    OperatorSpec("in_next", "duration", description="within the next N units after as_of"),
    OperatorSpec("in_period", "period", description="within a calendar period"),
    OperatorSpec("not_in_period", "period", negates="in_period", description="outside a calendar period"),
    OperatorSpec("birthday_in_next", "days", description="birthday falls within the next N days"),
    OperatorSpec("birthday_today", "none", description="birthday is today"),
    OperatorSpec("birthday_in_month", "month", description="birthday is in the given month"),
)


COMPARISON_SYMBOLS: Final[dict[str, str]] = {
    "eq": "=",
    "ne": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
}
"""Operators that rules may write as symbols, in the DSL and in messages."""
