"""Check a mapping against the live schema of the shop database before anything is copied.

Every table and column the mapping names must exist with a type that fits its use. Each
problem names the mapping file's line, the missing or unfit table or column, and the
nearest existing name. A watermark or lookup column without an index only logs a
warning, because the copy still works, only slower.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from segmento.adapters.shopdb.mapping import TARGETS, Kind, Role, ShopMapping, TableMap
from segmento.engine.catalog import closest
from segmento.engine.errors import DataError, Location

logger = logging.getLogger(__name__)

_ACCEPTED: Final[dict[Kind, tuple[type[sa.types.TypeEngine[object]], ...]]] = {
    "date": (sa.Date, sa.DateTime),
    "datetime": (sa.DateTime, sa.Date),
    "integer": (sa.Integer, sa.Numeric),
    "money": (sa.Numeric, sa.Integer),
}
"""Column types each kind of field accepts; text, codes and keys accept any type."""

_WATERMARK_TYPES: Final = (sa.DateTime, sa.Date, sa.Integer, sa.Numeric)


class MappingError(DataError):
    """The mapping does not fit the live schema. ``problems`` lists every mismatch found."""

    code = "shopdb_schema"

    def __init__(self, problems: list[DataError]) -> None:
        self.problems = problems
        first = problems[0]
        super().__init__(first.message, location=first.location, value=first.value, hint=first.hint)

    def __str__(self) -> str:
        lines = [DataError.__str__(problem) for problem in self.problems]
        if len(lines) == 1:
            return lines[0]
        return f"{len(lines)} problems with the mapping:\n" + "\n".join(f"  {line}" for line in lines)


@dataclass(frozen=True)
class SourceTables:
    """The shop's tables that the mapping names, with their mapped columns and live types."""

    tables: dict[Role, sa.Table]

    def __getitem__(self, role: Role) -> sa.Table:
        return self.tables[role]

    def get(self, role: Role) -> sa.Table | None:
        return self.tables.get(role)


def check_mapping(mapping: ShopMapping, connection: sa.Connection, warnings: list[DataError] | None = None) -> SourceTables:
    """Return the mapped tables of the live schema; raise ``MappingError`` listing every mismatch.

    Problems that do not stop an import (a missing index, a watermark that may be
    ``NULL`` while reconciliation is off) are logged as warnings, or appended to
    ``warnings`` when it is given.
    """
    found: list[DataError] = []
    inspector = sa.inspect(connection)
    views = set(inspector.get_view_names())
    # A view may stand for a table, for example to convert a column of the wrong type.
    existing = [*inspector.get_table_names(), *sorted(views)]
    problems: list[DataError] = []
    tables: dict[Role, sa.Table] = {}
    metadata = sa.MetaData()
    for role, table_map in mapping.tables.items():
        if table_map.table not in existing:
            problems.append(_missing("table", table_map.table, existing, table_map.location, "in the shop database"))
            continue
        reflected = inspector.get_columns(table_map.table)
        live = {column["name"]: column["type"] for column in reflected}
        nullable = {column["name"] for column in reflected if column.get("nullable", True)}
        needed = _needed_columns(table_map)
        for column, location, kind in needed:
            if column not in live:
                problems.append(_missing("column", column, live, location, f"in table {table_map.table!r}"))
            elif kind is not None and not _fits(live[column], kind):
                problems.append(_unfit(table_map, column, live[column], kind, location))
        names = list(dict.fromkeys(column for column, _, _ in needed if column in live))
        tables[role] = sa.Table(table_map.table, metadata, *(sa.Column(name, live[name]) for name in names))
        if table_map.table not in views:
            # A view has no indexes of its own; those of its base tables are not looked up.
            found.extend(_missing_indexes(inspector, connection.dialect, table_map, live))
        if table_map.watermark in nullable and table_map.watermark != table_map.key and not mapping.reconcile.enabled:
            found.append(
                DataError(
                    f"column {table_map.table}.{table_map.watermark} may be NULL, and only reconciliation copies "
                    "the rows where it is NULL, which the mapping turns off: set reconcile to every_import or an "
                    "interval such as 12h",
                    location=table_map.watermark_location or table_map.location,
                    value=table_map.watermark,
                    code="shopdb_null_watermark",
                )
            )
    if warnings is None:
        for warning in found:
            logger.warning("%s", warning.message)
    else:
        warnings.extend(found)
    if problems:
        raise MappingError(problems)
    return SourceTables(tables)


def _needed_columns(table_map: TableMap) -> list[tuple[str, Location, Kind | str | None]]:
    """Return (column, where the mapping names it, kind to check) for every column of ``table_map``."""
    needed: list[tuple[str, Location, Kind | str | None]] = [(table_map.key, table_map.key_location, None)]
    if table_map.watermark is not None and table_map.watermark_location is not None:
        needed.append((table_map.watermark, table_map.watermark_location, "watermark"))
    targets = TARGETS[table_map.role]
    for target, item in table_map.columns.items():
        kind: Kind | None = targets[target].kind
        if item.scale is not None:
            kind = "integer"
        needed.append((item.column, item.location, kind))
    return needed


def _fits(column_type: sa.types.TypeEngine[object], kind: Kind | str) -> bool:
    if kind == "watermark":
        return isinstance(column_type, _WATERMARK_TYPES)
    accepted = _ACCEPTED.get(kind)  # type: ignore[call-overload]
    return accepted is None or isinstance(column_type, accepted)


def _missing(kind: str, name: str, candidates: Iterable[str], location: Location, where: str) -> DataError:
    suggestion = closest(name, candidates)
    hint = f"Did you mean {suggestion!r}?" if suggestion else f"Check the {kind} names {where}"
    return DataError(f"{kind} {name!r} not found {where}", location=location, value=name, hint=hint, code="shopdb_schema")


def _unfit(table_map: TableMap, column: str, column_type: sa.types.TypeEngine[object], kind: Kind | str, location: Location) -> DataError:
    needs = {
        "watermark": "an update time or an increasing number",
        "date": "a DATE or DATETIME column",
        "datetime": "a DATETIME, TIMESTAMP or DATE column",
        "integer": "a whole-number column (an integer column with 'scale' for money in minor units)",
        "money": "a DECIMAL or integer column",
    }[kind]
    return DataError(
        f"column {table_map.table}.{column} is {column_type}, but this field needs {needs}",
        location=location,
        value=str(column_type),
        hint="Map another column, or convert it in a database view and map the view",
        code="shopdb_schema",
    )


def _missing_indexes(
    inspector: sa.Inspector, dialect: sa.Dialect, table_map: TableMap, live: dict[str, object]
) -> list[DataError]:
    """Return a warning for each watermark or lookup column that no index starts with, with the SQL to add one."""
    try:
        indexes = inspector.get_indexes(table_map.table)
        primary = inspector.get_pk_constraint(table_map.table).get("constrained_columns") or []
    except (NotImplementedError, sa.exc.SQLAlchemyError):
        return []
    leading = {index["column_names"][0] for index in indexes if index.get("column_names")}
    if primary:
        leading.add(primary[0])
    lookups: list[tuple[str | None, Location | None]] = [(table_map.watermark_columns[0], table_map.watermark_location)]
    if table_map.role == "order_lines":
        for target in ("order", "product"):
            item = table_map.columns.get(target)
            lookups.append((item.column, item.location) if item is not None else (None, None))
    quote = dialect.identifier_preparer.quote
    warnings: list[DataError] = []
    for column, location in lookups:
        if column is None or column not in live or column in leading:
            continue
        # The watermark index also contains the key, which orders rows with the same update time.
        indexed = [column, table_map.key] if column == table_map.watermark and column != table_map.key else [column]
        statement = (
            f"CREATE INDEX {quote('ix_' + table_map.table + '_' + column)} ON {quote(table_map.table)} "
            f"({', '.join(quote(name) for name in indexed)})"
        )
        warnings.append(
            DataError(
                f"column {table_map.table}.{column} has no index that starts with it; "
                "incremental copies will scan the whole table",
                location=location or table_map.location,
                value=column,
                hint=f"Add one: {statement}",
                code="shopdb_index",
            )
        )
    return warnings
