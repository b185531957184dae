"""Field types: which operators each type allows and what values they take.

A field type is data registered through the plugin hooks, like operators. Scalar
kinds (``ScalarKind``) are the value types a rule can write; ``coerce_scalar`` turns a
rule value into the Python object of that kind or raises ``TypeError`` with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Final, Literal

from segmento.engine.text import normalize

ScalarKind = Literal["string", "integer", "decimal", "boolean", "date", "datetime"]

SCALAR_OPERATORS: Final = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "not_between", "in", "not_in"})
PRESENCE_OPERATORS: Final = frozenset({"is_set", "is_not_set"})
TEXT_OPERATORS: Final = frozenset({"contains", "not_contains", "starts_with", "ends_with"})
MEMBER_OPERATORS: Final = frozenset({"contains_any", "contains_all", "contains_none", "is_empty", "is_not_empty"})
TIME_OPERATORS: Final = frozenset(
    {"before", "after", "in_last", "not_in_last", "in_next", "in_period", "not_in_period"}
)
BIRTHDAY_OPERATORS: Final = frozenset({"birthday_in_next", "birthday_today", "birthday_in_month"})
KEYED_OPERATORS: Final = frozenset({"eq", "ne", "gt", "gte", "lt", "lte", "between", "not_between"})


@dataclass(frozen=True, slots=True)
class FieldType:
    """A type of profile field.

    ``scalar`` is the kind of a plain value compared with the field, ``member`` the
    kind of a list member or map key (for ``contains_any`` and include lists), and
    ``keyed`` the kind of the number a keyed test compares (``product_views[1] >= 3``).
    ``operators`` are allowed without an include list, ``keyed_operators`` with one.
    """

    name: str
    operators: frozenset[str]
    scalar: ScalarKind | None = None
    member: ScalarKind | None = None
    keyed: ScalarKind | None = None
    keyed_operators: frozenset[str] = frozenset()
    description: str = ""


BUILTIN_TYPES: Final[tuple[FieldType, ...]] = (
    FieldType(
        "string",
        SCALAR_OPERATORS - {"gt", "gte", "lt", "lte", "between", "not_between"} | PRESENCE_OPERATORS | TEXT_OPERATORS,
        scalar="string",
        description="Unicode text",
    ),
    FieldType("integer", SCALAR_OPERATORS | PRESENCE_OPERATORS, scalar="integer", description="whole number"),
    FieldType("decimal", SCALAR_OPERATORS | PRESENCE_OPERATORS, scalar="decimal", description="exact number, money"),
    FieldType("boolean", frozenset({"eq", "ne"}) | PRESENCE_OPERATORS, scalar="boolean", description="true or false"),
    FieldType(
        "date",
        SCALAR_OPERATORS | PRESENCE_OPERATORS | TIME_OPERATORS | BIRTHDAY_OPERATORS,
        scalar="date",
        description="calendar date",
    ),
    FieldType(
        "datetime",
        SCALAR_OPERATORS - {"in", "not_in"} | PRESENCE_OPERATORS | TIME_OPERATORS | {"on"},
        scalar="datetime",
        description="instant, stored in UTC",
    ),
    FieldType("string_list", MEMBER_OPERATORS, member="string", description="list of strings"),
    FieldType("number_list", MEMBER_OPERATORS, member="decimal", description="list of numbers"),
    FieldType(
        "count_map",
        MEMBER_OPERATORS,
        member="string",
        keyed="integer",
        keyed_operators=KEYED_OPERATORS,
        description="count per id, for example product views; a missing key counts 0",
    ),
    FieldType(
        "score_map",
        MEMBER_OPERATORS,
        member="string",
        keyed="decimal",
        keyed_operators=KEYED_OPERATORS,
        description="score per name, for example long-term category interests; a missing key scores 0",
    ),
    FieldType(
        "ranked_list",
        MEMBER_OPERATORS,
        member="string",
        keyed="integer",
        keyed_operators=KEYED_OPERATORS,
        description="names ranked from 1, for example the top 4 short-term interests; "
        "a keyed test compares the best rank among the keys and is false when none is ranked",
    ),
)


def coerce_scalar(kind: ScalarKind, value: Any) -> Any:
    """Return ``value`` as a Python object of ``kind``, or raise ``TypeError`` saying why.

    Strings are never converted to numbers or dates: ``"1001"`` is not an integer.
    Floats become ``Decimal`` through their shortest text, so ``0.1`` is ``Decimal("0.1")``.
    """
    if kind == "string":
        if isinstance(value, str):
            return normalize(value)
        raise TypeError(f"expected a string, got {_describe(value)}")
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        raise TypeError(f"expected true or false, got {_describe(value)}")
    if kind in ("integer", "decimal"):
        return _coerce_number(kind, value)
    if kind == "date":
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        raise TypeError(f"expected a date (YYYY-MM-DD), got {_describe(value)}")
    if kind == "datetime":
        if isinstance(value, datetime):
            return value
        raise TypeError(f"expected a date and time (YYYY-MM-DDTHH:MM:SS), got {_describe(value)}")
    raise TypeError(f"unknown scalar kind {kind!r}")


def _coerce_number(kind: ScalarKind, value: Any) -> int | Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise TypeError(f"expected a number, got {_describe(value)}")
    number = Decimal(repr(value)) if isinstance(value, float) else value
    if isinstance(number, Decimal) and not number.is_finite():
        raise TypeError(f"expected a finite number, got {value}")
    if kind == "integer":
        if isinstance(number, Decimal):
            if number != number.to_integral_value():
                raise TypeError(f"expected a whole number, got {value}")
            return int(number)
        return number
    return number


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (int, float, Decimal)):
        return f"number {value}"
    if isinstance(value, datetime):
        return f"date and time {value.isoformat()}"
    if isinstance(value, date):
        return f"date {value.isoformat()}"
    if isinstance(value, (list, tuple)):
        return "a list"
    return type(value).__name__
