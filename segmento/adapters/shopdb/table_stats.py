"""Row counts, column values and watermark ranges of the shop's tables, read without scanning whole tables.

``shopdb check`` and ``shopdb draft`` run against the shop's production database, where an
order lines table may have tens of millions of rows. Unless the caller asks for exact
figures (``exact=True``), nothing here reads a whole table:

- row counts are the database's own estimates: ``information_schema.TABLES.TABLE_ROWS`` on
  MySQL and MariaDB, ``pg_class.reltuples`` on PostgreSQL. A view has none;
- the distinct values of a column come from an index that starts with it on MySQL and
  MariaDB, whose loose index scan reads one index entry per value. Otherwise they come
  from a sample: the last ``SAMPLE_ROWS`` rows by primary key, or the first rows read
  when the table has no primary key;
- ``MIN`` and ``MAX`` are read only through an index that starts with the column;
- ``NULL`` values are counted, up to ``NULL_LIMIT``, only through such an index.

SQLite keeps no row estimates, and a shop kept in SQLite is small, so on SQLite every
figure is exact.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

import sqlalchemy as sa

from segmento.adapters.shopdb.schema_info import TableInfo

DISTINCT_LIMIT: Final = 50
"""Most distinct values read from a column whose values are codes."""

SAMPLE_ROWS: Final = 10_000
"""Rows read for a sample of a column's values or a key's duplicates."""

NULL_LIMIT: Final = 1_000
"""``NULL`` watermarks counted through an index; past this the count shows as a lower bound."""

MYSQL_FAMILY: Final = frozenset({"mysql", "mariadb"})

Precision = Literal["exact", "estimate", "at_least", "unknown"]


def scans_tables(connection: sa.Connection, exact: bool) -> bool:
    """Return whether whole tables may be read: the caller asked for exact figures, or the database is SQLite."""
    return exact or connection.dialect.name == "sqlite"


@dataclass(frozen=True, slots=True)
class Count:
    """A number of rows and how far to trust it: ``exact``, an ``estimate``, a lower bound (``at_least``) or ``unknown``."""

    value: int | None
    precision: Precision

    @property
    def exact(self) -> bool:
        return self.precision == "exact"

    def describe(self, noun: str) -> str:
        """Return the count with ``noun``: ``3 rows``, ``about 12,400,000 rows``, ``over 1,000 rows``."""
        if self.value is None:
            return f"{noun}s not counted"
        text = f"{self.value:,} {noun}" + ("" if self.value == 1 else "s")
        if self.precision == "estimate":
            return "about " + text
        if self.precision == "at_least":
            return "over " + text
        return text


def row_count(connection: sa.Connection, table: str, *, exact: bool) -> Count:
    """Return the number of rows of ``table``: a ``COUNT(*)`` when whole tables may be read, else the estimate."""
    if scans_tables(connection, exact):
        source = sa.table(table)
        return Count(int(connection.scalar(sa.select(sa.func.count()).select_from(source)) or 0), "exact")
    estimate = estimated_rows(connection, table)
    return Count(estimate, "estimate") if estimate is not None else Count(None, "unknown")


def estimated_rows(connection: sa.Connection, table: str) -> int | None:
    """Return the row estimate the database keeps for ``table``, or ``None`` for a view or another database.

    The MySQL manual calls InnoDB's row count "only a rough estimate used in SQL
    optimization" (InnoDB restrictions and limitations). MySQL 8 also caches it for
    ``information_schema_stats_expiry`` seconds, a day by default. PostgreSQL's
    ``reltuples`` dates from the last ``VACUUM`` or ``ANALYZE``.
    """
    dialect = connection.dialect.name
    if dialect in MYSQL_FAMILY:
        row = connection.execute(
            sa.text(
                "SELECT TABLE_ROWS, TABLE_TYPE FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = :name"
            ),
            {"name": table},
        ).first()
        if row is None or row[0] is None or row[1] == "VIEW":
            return None
        return int(row[0])
    if dialect == "postgresql":
        row = connection.execute(
            sa.text("SELECT reltuples, relkind FROM pg_class WHERE oid = to_regclass(quote_ident(:name))"), {"name": table}
        ).first()
        # reltuples is -1 for a table never vacuumed or analysed (PostgreSQL 14 and later), and 0 for a view.
        if row is None or row[0] is None or row[0] < 0 or row[1] not in ("r", "p", "m"):
            return None
        return round(row[0])
    return None


# --- column values --------------------------------------------------------------------------


@dataclass(frozen=True)
class ColumnValues:
    """The distinct non-``NULL`` values of a column, and whether they are all of the table's.

    ``values`` is ``None`` when there are more than the requested limit. ``sample`` names
    the rows that were read, for example ``the last 10,000 rows by id``, when only some were.
    """

    values: list[Any] | None
    sample: str | None = None

    @property
    def complete(self) -> bool:
        return self.sample is None


def column_values(
    connection: sa.Connection, table: TableInfo, column: str, *, exact: bool, limit: int = DISTINCT_LIMIT
) -> ColumnValues:
    """Return the distinct non-``NULL`` values of ``table.column``, or ``None`` as values when there are more than ``limit``."""
    source = sa.table(table.name, sa.column(column))
    cheap = connection.dialect.name in MYSQL_FAMILY and table.index_starting_with(column) is not None
    if scans_tables(connection, exact) or cheap:
        statement = sa.select(source.c[column]).where(source.c[column].is_not(None)).distinct().limit(limit + 1)
        values = list(connection.scalars(statement))
        return ColumnValues(None if len(values) > limit else values)
    rows, sample = sample_column(connection, table, column)
    distinct = list(dict.fromkeys(value for value in rows if value is not None))
    return ColumnValues(None if len(distinct) > limit else distinct, sample)


def sample_column(connection: sa.Connection, table: TableInfo, column: str, order: Sequence[str] | None = None) -> tuple[list[Any], str | None]:
    """Return the values of ``column`` in up to ``SAMPLE_ROWS`` rows, and which rows they are.

    The rows are the last by ``order`` (default: the primary key), or the first read
    without one. The description is ``None`` when the sample contains every row of the table.
    """
    names = list(order if order is not None else table.primary_key)
    source = sa.table(table.name, *(sa.column(name) for name in dict.fromkeys([column, *names])))
    # Reading one row more than the sample shows whether the table has more rows than the sample.
    statement = sa.select(source.c[column]).limit(SAMPLE_ROWS + 1)
    if names:
        statement = statement.order_by(*(source.c[name].desc() for name in names))
    rows = list(connection.scalars(statement))
    if len(rows) <= SAMPLE_ROWS:
        return rows, None
    del rows[SAMPLE_ROWS:]
    which = f"the last {SAMPLE_ROWS:,} rows by {', '.join(names)}" if names else f"the first {SAMPLE_ROWS:,} rows read"
    return rows, which


def repeated_values(values: Sequence[Any]) -> int:
    """Return how many distinct non-``NULL`` values occur more than once in ``values``."""
    return sum(1 for value, times in Counter(value for value in values if value is not None).items() if times > 1)


# --- watermarks -----------------------------------------------------------------------------


@dataclass(frozen=True)
class WatermarkStats:
    """The range of a watermark column and its ``NULL`` rows; ``read_range`` is false when the range was not read.

    ``rows`` is the table's row count when the same scan counted it, else ``None``.
    """

    oldest: Any = None
    newest: Any = None
    read_range: bool = True
    nulls: Count = Count(0, "exact")
    rows: Count | None = None


def watermark_stats(connection: sa.Connection, source: sa.Table, table: TableInfo, column: str, *, exact: bool) -> WatermarkStats:
    """Return the watermark's range and ``NULL`` count without a full scan, unless whole tables may be read.

    ``MIN`` and ``MAX`` through an index that starts with the column read one index entry
    each. A filter such as ``IS NOT NULL`` would stop MariaDB from doing that, and both
    functions skip ``NULL`` anyway. ``source`` is the reflected table, whose column types
    convert the values read.
    """
    target = source.c[column]
    info = table.column(column)
    nullable = info is None or info.nullable
    indexed = table.index_starting_with(column) is not None
    if scans_tables(connection, exact):
        oldest, newest, total, filled = connection.execute(
            sa.select(sa.func.min(target), sa.func.max(target), sa.func.count(), sa.func.count(target)).select_from(source)
        ).one()
        return WatermarkStats(oldest, newest, True, Count(int(total or 0) - int(filled or 0), "exact"), Count(int(total or 0), "exact"))
    if not indexed:
        return WatermarkStats(read_range=False, nulls=Count(0, "exact") if not nullable else Count(None, "unknown"))
    oldest, newest = connection.execute(sa.select(sa.func.min(target), sa.func.max(target)).select_from(source)).one()
    if not nullable:
        return WatermarkStats(oldest, newest)
    found = len(connection.execute(sa.select(target).where(target.is_(None)).limit(NULL_LIMIT + 1)).all())
    nulls = Count(NULL_LIMIT, "at_least") if found > NULL_LIMIT else Count(found, "exact")
    return WatermarkStats(oldest, newest, True, nulls)
