"""Profile computations as declarative definitions: data that an engine runs, no I/O.

Each profile field is defined once here. An engine (the SQL profile builder in
``segmento.adapters.profile_builder``, a Spark job later) interprets the definitions
against four input relations with fixed columns:

- ``order_lines``: customer_id, order_id, time, is_cancellation, line_kind, product_id,
  category, quantity, value (money; negative on cancellation lines)
- ``orders``: customer_id, order_id, time, country, is_cancellation
- ``events``: customer_id, kind, time, product_id, category, price, quantity, value
- ``customers``: customer_id, time (when the traits were recorded), name, gender,
  birthday, city, country, signed_up_at

Rules every engine follows:

- Only rows with a customer and with ``time <= as_of`` count. Every customer with at
  least one such row in ``orders``, ``events`` or ``customers`` gets a profile.
- Computations run in the order of ``PROFILE_COMPUTATIONS``; ``Ratio``, ``Coalesce``
  and ``Classify`` read fields computed before them. Fields whose name starts with
  ``_`` are intermediate and are not written to the profile.
- ``Param`` values come from ``ProfileSettings``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Final, Literal

RelationName = Literal["order_lines", "orders", "events", "customers"]
AggregateFunction = Literal["count", "sum", "min", "max"]


# --- settings -------------------------------------------------------------------------


DEFAULT_INTEREST_WEIGHTS: Final[Mapping[str, Decimal]] = {
    "page_view": Decimal("0"),
    "product_view": Decimal("1"),
    "search": Decimal("1"),
    "add_to_cart": Decimal("3"),
    "remove_from_cart": Decimal("0"),
    "purchase": Decimal("5"),
}


@dataclass(frozen=True)
class ProfileSettings:
    """The tunable values of the computations, set per workspace.

    ``interest_weights`` scores one event of each kind; ``short_term_days`` is how long
    a category stays a short-term interest without a new event. A customer is
    ``new`` while the first order is at most ``new_days`` old and there are at most
    ``new_max_orders`` orders, ``active`` while the last order is at most
    ``active_days`` old, ``at_risk`` until it is ``lapsed_days`` old, then ``lapsed``.
    """

    interest_weights: Mapping[str, Decimal] = field(default_factory=lambda: dict(DEFAULT_INTEREST_WEIGHTS))
    short_term_days: int = 3
    short_term_size: int = 4
    new_days: int = 30
    new_max_orders: int = 1
    active_days: int = 90
    lapsed_days: int = 180

    def value(self, name: str) -> Any:
        """Return the setting a ``Param`` names; raise ``KeyError`` for an unknown name."""
        if name not in _SETTING_NAMES:
            raise KeyError(f"unknown computation setting {name!r}")
        return getattr(self, name)

    def fingerprint(self) -> str:
        """Return a hash of the settings; profiles built with other settings are rebuilt."""
        data = asdict(self)
        data["interest_weights"] = {key: str(value) for key, value in sorted(self.interest_weights.items())}
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


_SETTING_NAMES: Final = frozenset(
    {"interest_weights", "short_term_days", "short_term_size", "new_days", "new_max_orders", "active_days", "lapsed_days"}
)


@dataclass(frozen=True)
class Param:
    """A value taken from ``ProfileSettings`` when the computations run."""

    name: str


# --- row conditions -------------------------------------------------------------------


@dataclass(frozen=True)
class Eq:
    """``column = value`` on the rows of the input relation."""

    column: str
    value: str | bool


@dataclass(frozen=True)
class IsSet:
    """``column IS NOT NULL``."""

    column: str


@dataclass(frozen=True)
class WithinDays:
    """``column > as_of - days``: the row is at most ``days`` days old."""

    column: str
    days: Param


RowCondition = Eq | IsSet | WithinDays


# --- inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Rollup:
    """Rows of ``source`` grouped per customer and ``group_by``, with aggregated ``columns``.

    Each of ``columns`` is ``(output column, function, input column)``.
    """

    name: str
    source: RelationName
    group_by: tuple[str, ...]
    columns: tuple[tuple[str, AggregateFunction, str], ...]
    where: tuple[RowCondition, ...] = ()


Source = RelationName | Rollup

ORDER_TOTALS: Final = Rollup(
    "order_totals",
    "order_lines",
    group_by=("order_id", "is_cancellation"),
    columns=(("value", "sum", "value"), ("items", "sum", "quantity"), ("time", "min", "time")),
    where=(Eq("line_kind", "product"),),
)
"""One row per order: its value and item count over product lines, net of returns."""


# --- computations ---------------------------------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    """One value per customer: ``function`` of ``argument`` over the matching rows.

    ``argument`` is ``None`` for ``count``, which counts rows. ``default`` is the value
    of a customer without matching rows (``None``: the field is missing).
    """

    field: str
    source: Source
    function: AggregateFunction
    argument: str | None = None
    where: tuple[RowCondition, ...] = ()
    default: int | Decimal | None = None


@dataclass(frozen=True)
class KeyedCount:
    """A map from ``key`` to the number of matching rows with that key."""

    field: str
    source: Source
    key: str
    where: tuple[RowCondition, ...] = ()


@dataclass(frozen=True)
class WeightedScores:
    """A map from ``key`` to the sum of ``weights[kind]`` over the matching rows.

    With ``ancestors``, a dotted key also scores every ancestor path, so an event in
    ``electronics.audio.headphone`` adds to ``electronics`` and ``electronics.audio``.
    Kinds without a weight score 0 and add no key.
    """

    field: str
    source: Source
    key: str
    weights: Param
    where: tuple[RowCondition, ...] = ()
    ancestors: bool = False


@dataclass(frozen=True)
class TopKeys:
    """The keys with the highest weighted score, best first, at most ``limit`` of them.

    Ties go to the key with the later latest row, then to the smaller key. With
    ``single`` the field is the best key itself instead of a one-element list.
    """

    field: str
    source: Source
    key: str
    weights: Param
    limit: int | Param
    where: tuple[RowCondition, ...] = ()
    single: bool = False


@dataclass(frozen=True)
class Latest:
    """The value of ``column`` on the customer's latest matching row with a value."""

    field: str
    source: Source
    column: str
    where: tuple[RowCondition, ...] = ()


@dataclass(frozen=True)
class Ratio:
    """``numerator / denominator`` of two computed fields, rounded half-even to ``places``.

    Missing when either field is missing or the denominator is 0.
    """

    field: str
    numerator: str
    denominator: str
    places: int = 2


@dataclass(frozen=True)
class Coalesce:
    """The first of ``fields`` that has a value."""

    field: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class FieldWithinDays:
    """A computed datetime field is at most ``days`` days before ``as_of``."""

    field: str
    days: Param


@dataclass(frozen=True)
class FieldAtMost:
    """A computed number field is at most the setting ``limit``."""

    field: str
    limit: Param


@dataclass(frozen=True)
class FieldIsSet:
    field: str


ProfileCondition = FieldWithinDays | FieldAtMost | FieldIsSet


@dataclass(frozen=True)
class Case:
    """``value`` when every condition holds."""

    value: str
    when: tuple[ProfileCondition, ...]


@dataclass(frozen=True)
class Classify:
    """The value of the first case whose conditions hold; missing when none does."""

    field: str
    cases: tuple[Case, ...]


Computation = Aggregate | KeyedCount | WeightedScores | TopKeys | Latest | Ratio | Coalesce | Classify

PRODUCT_LINES: Final = (Eq("line_kind", "product"),)
PURCHASE_ORDERS: Final = (Eq("is_cancellation", False),)
PRODUCT_VIEWS: Final = (Eq("kind", "product_view"),)
WITH_CATEGORY: Final = (IsSet("category"),)

PROFILE_COMPUTATIONS: Final[tuple[Computation, ...]] = (
    # Shopping habits. Only product lines count; cancellations lower the totals.
    Aggregate("total_purchase", ORDER_TOTALS, "count", where=PURCHASE_ORDERS, default=0),
    Aggregate("total_purchase_value", "order_lines", "sum", "value", where=PRODUCT_LINES, default=Decimal(0)),
    Aggregate("min_purchase_value", ORDER_TOTALS, "min", "value", where=PURCHASE_ORDERS),
    Aggregate("max_purchase_value", ORDER_TOTALS, "max", "value", where=PURCHASE_ORDERS),
    Aggregate("first_purchase_at", ORDER_TOTALS, "min", "time", where=PURCHASE_ORDERS),
    Aggregate("last_purchase_at", ORDER_TOTALS, "max", "time", where=PURCHASE_ORDERS),
    Aggregate("_items", "order_lines", "sum", "quantity", where=PRODUCT_LINES),
    Ratio("avg_purchase_value", "total_purchase_value", "total_purchase"),
    Ratio("avg_basket_size", "_items", "total_purchase"),
    # Products and categories of interest.
    Aggregate("view_count", "events", "count", where=PRODUCT_VIEWS, default=0),
    KeyedCount("product_views", "events", "product_id", where=(*PRODUCT_VIEWS, IsSet("product_id"))),
    WeightedScores(
        "long_term_interests", "events", "category", Param("interest_weights"), where=WITH_CATEGORY, ancestors=True
    ),
    TopKeys("favorite_category", "events", "category", Param("interest_weights"), limit=1, where=WITH_CATEGORY, single=True),
    TopKeys(
        "short_term_interests",
        "events",
        "category",
        Param("interest_weights"),
        limit=Param("short_term_size"),
        where=(*WITH_CATEGORY, WithinDays("time", Param("short_term_days"))),
    ),
    # Customer status from recency and frequency.
    Classify(
        "status",
        (
            Case(
                "new",
                (FieldWithinDays("first_purchase_at", Param("new_days")), FieldAtMost("total_purchase", Param("new_max_orders"))),
            ),
            Case("active", (FieldWithinDays("last_purchase_at", Param("active_days")),)),
            Case("at_risk", (FieldWithinDays("last_purchase_at", Param("lapsed_days")),)),
            Case("lapsed", (FieldIsSet("last_purchase_at"),)),
        ),
    ),
    # Identity and demographics: the customer's own record first, then the orders.
    Latest("name", "customers", "name"),
    Latest("gender", "customers", "gender"),
    Latest("birthday", "customers", "birthday"),
    Latest("city", "customers", "city"),
    Latest("signed_up_at", "customers", "signed_up_at"),
    Latest("_country_of_record", "customers", "country"),
    Latest("_country_of_orders", "orders", "country", where=PURCHASE_ORDERS),
    Coalesce("country", ("_country_of_record", "_country_of_orders")),
)

POPULATION: Final[tuple[RelationName, ...]] = ("orders", "events", "customers")
"""Relations whose customers get a profile."""


def time_windows(settings: ProfileSettings, computations: tuple[Computation, ...] = PROFILE_COMPUTATIONS) -> list[timedelta]:
    """Return every window length the computations measure back from ``as_of``.

    A profile's time-dependent fields can only change between two ``as_of`` instants
    when a row's time, or that time plus one of these windows, lies between them.
    """
    days: set[int] = set()
    for computation in computations:
        for condition in _conditions_of(computation):
            if isinstance(condition, (WithinDays, FieldWithinDays)):
                days.add(int(settings.value(condition.days.name)))
    return [timedelta(days=count) for count in sorted(days)]


def _conditions_of(computation: Computation) -> list[RowCondition | ProfileCondition]:
    if isinstance(computation, Classify):
        return [condition for case in computation.cases for condition in case.when]
    where = getattr(computation, "where", ())
    source = getattr(computation, "source", None)
    extra = source.where if isinstance(source, Rollup) else ()
    return [*where, *extra]


def profile_fields(computations: tuple[Computation, ...] = PROFILE_COMPUTATIONS) -> list[str]:
    """Return the names of the fields written to profiles, in computation order."""
    return [item.field for item in computations if not item.field.startswith("_")]
