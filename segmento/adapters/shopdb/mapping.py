"""The model of a shop database mapping: which table and column hold each of segmento's fields.

``mapping_file.load_mapping`` builds it from YAML; ``introspect.check_mapping``
compares it with the live schema. Every part keeps the ``Location`` (file, line and
column) it was read from, so an error about it names that line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final, Literal

import sqlalchemy as sa

from segmento.adapters.ingest.model import LINE_KINDS
from segmento.adapters.urls import UNENCODED_AT_CODE, missing_variable, resolve_store_url
from segmento.engine.errors import DataError, Location

Role = Literal["customers", "categories", "products", "orders", "order_lines"]
ROLES: Final[tuple[Role, ...]] = ("customers", "categories", "products", "orders", "order_lines")

Kind = Literal["text", "codes", "date", "datetime", "integer", "money", "key"]


@dataclass(frozen=True, slots=True)
class TargetSpec:
    """A field segmento reads from one table: the kinds of value it accepts and whether it is required.

    ``values`` lists the only values a ``codes`` conversion may produce for it.
    """

    name: str
    kind: Kind
    required: bool = False
    values: tuple[str, ...] | None = None


GENDERS: Final = ("female", "male", "other")

TARGETS: Final[dict[Role, dict[str, TargetSpec]]] = {
    "customers": {
        spec.name: spec
        for spec in (
            TargetSpec("name", "text"),
            TargetSpec("gender", "text", values=GENDERS),
            TargetSpec("birthday", "date"),
            TargetSpec("city", "text"),
            TargetSpec("country", "text"),
            TargetSpec("signed_up_at", "datetime"),
        )
    },
    "categories": {
        spec.name: spec for spec in (TargetSpec("name", "text", required=True), TargetSpec("parent", "key"))
    },
    "products": {
        spec.name: spec
        for spec in (
            TargetSpec("code", "text"),
            TargetSpec("name", "text"),
            TargetSpec("category", "key"),
            TargetSpec("line_kind", "text", values=LINE_KINDS),
        )
    },
    "orders": {
        spec.name: spec
        for spec in (
            TargetSpec("customer", "key", required=True),
            TargetSpec("placed_at", "datetime", required=True),
            TargetSpec("country", "text"),
            TargetSpec("status", "text"),
        )
    },
    "order_lines": {
        spec.name: spec
        for spec in (
            TargetSpec("order", "key", required=True),
            TargetSpec("product", "key", required=True),
            TargetSpec("quantity", "integer", required=True),
            TargetSpec("unit_price", "money", required=True),
        )
    },
}
"""The fields each table of the mapping can provide, by role."""

WATERMARKED: Final[frozenset[Role]] = frozenset({"customers", "products", "orders", "order_lines"})
"""Roles copied incrementally; categories are small and read whole on every import."""

REQUIRED_ROLES: Final[frozenset[Role]] = frozenset({"orders", "order_lines"})

_ENV_REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """One field read from one column, with its conversion.

    ``codes`` maps the column's values (as text) to the field's values; a value not
    listed becomes ``default`` when ``has_default``, otherwise the row is rejected.
    ``scale`` reads an integer column of minor units: the amount is the value divided
    by 10**scale. ``timezone`` is the zone of naive datetimes in this column.
    """

    target: str
    column: str
    location: Location
    codes: Mapping[str, str | None] | None = None
    default: str | None = None
    has_default: bool = False
    scale: int | None = None
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class TableMap:
    """One shop table: its name, key column, watermark column and mapped fields.

    The key identifies a row and breaks ties between rows with the same watermark
    value, so ``(watermark, key)`` orders the rows strictly. A watermark equal to the
    key (an increasing id) copies new rows only.
    """

    role: Role
    table: str
    key: str
    location: Location
    key_location: Location
    columns: dict[str, ColumnMap] = field(default_factory=dict)
    watermark: str | None = None
    watermark_location: Location | None = None

    @property
    def watermark_columns(self) -> tuple[str, ...]:
        """The columns that order rows for incremental copies: ``(watermark, key)``, or ``(key,)``."""
        if self.watermark is None or self.watermark == self.key:
            return (self.key,)
        return (self.watermark, self.key)

    def column(self, target: str) -> str | None:
        item = self.columns.get(target)
        return item.column if item is not None else None


@dataclass(frozen=True, slots=True)
class OrderStatuses:
    """Order status codes with a meaning: ``skip`` codes are not sales, ``returns`` codes are credit notes."""

    skip: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class ReconcilePolicy:
    """How often an import reconciles the shop's keys with the keys it copied.

    ``enabled`` false is ``reconcile: never``. ``interval`` ``None`` reconciles on every
    import; otherwise an import reconciles when the last reconciliation finished at
    least that long ago.
    """

    enabled: bool = True
    interval: timedelta | None = None

    def due(self, last: datetime | None, now: datetime) -> bool:
        """Return whether an import at ``now`` reconciles, after one that finished at ``last``."""
        if not self.enabled:
            return False
        return self.interval is None or last is None or now - last >= self.interval

    def describe(self) -> str:
        if not self.enabled:
            return "never"
        return "every_import" if self.interval is None else f"every {self.interval}"


@dataclass(frozen=True)
class ShopMapping:
    """A whole mapping file.

    ``url`` is the source database URL as written, with ``${NAME}`` references to
    environment variables; ``resolve_url`` substitutes them. ``timezone`` is the zone of
    naive datetimes; ``settle_seconds`` leaves rows whose update time is that close to
    the source's current time for the next import; ``reconcile`` sets how often deleted
    and missed rows are looked for.
    """

    path: Path
    url: str
    url_location: Location
    timezone: str
    batch_size: int
    settle_seconds: int
    tables: dict[Role, TableMap]
    statuses: OrderStatuses = OrderStatuses()
    reconcile: ReconcilePolicy = ReconcilePolicy()

    def table(self, role: Role) -> TableMap | None:
        return self.tables.get(role)

    def resolve_url(self, environ: Mapping[str, str] | None = None) -> sa.URL:
        """Return the source URL with every ``${NAME}`` replaced from the environment.

        A reference may be the whole URL or a part of it, such as the password. The
        value is substituted after parsing, so it may contain ``@`` or ``/``.
        """
        values = os.environ if environ is None else environ
        for name in env_references(self.url):
            state = missing_variable(name, values)
            if state is not None:
                raise DataError(
                    f"environment variable {name} {state}",
                    location=self.url_location,
                    value=name,
                    hint=f"Export {name} with the shop database's URL, or the part of it the mapping refers to",
                    code="shopdb_env",
                )
        try:
            return sa.make_url(resolve_store_url(self.url, values, location=self.url_location))
        except DataError as error:
            if error.code == UNENCODED_AT_CODE:
                hint = error.hint
            else:
                hint = "Write it as mysql+pymysql://USER:${PASSWORD_VARIABLE}@HOST:3306/DATABASE?charset=utf8mb4"
            raise DataError(
                error.message.replace("store URL", "shop database URL"),
                location=self.url_location,
                hint=hint,
                code="shopdb_url",
            ) from None


def env_references(text: str) -> list[str]:
    """Return the names of the environment variables that ``text`` refers to as ``${NAME}``."""
    return _ENV_REFERENCE.findall(text)


def literal_password(url_text: str) -> bool:
    """Return whether ``url_text`` holds a password that is not a ``${NAME}`` reference."""
    # Replace each reference by a marker that cannot occur in a URL, then parse.
    marked = _ENV_REFERENCE.sub("SEGMENTOENVREF", url_text)
    try:
        url = sa.make_url(marked)
    except sa.exc.ArgumentError:
        return False
    password = url.password
    return bool(password) and "SEGMENTOENVREF" not in str(password)
