"""Check a mapping file against the live shop database without writing anything (``segmento shopdb check``).

It lists every problem at once. Some are in the file itself (``mapping_file.read_mapping``):
unknown keys, invalid values. Some are in the environment or the live schema
(``introspect.check_mapping``): variables the URL needs that are not set, the
connection, missing tables and columns. Others only the schema or the data show: keys
that are not unique, a watermark that may be ``NULL`` or that no index starts with,
codes that the mapping does not list, status codes that the column does not have. When
nothing stops an import, ``preview`` adds what the import would read: row counts,
watermark ranges and sample rows converted as the import converts them.

The shop database is often a busy production server, so unless ``exact`` is asked for,
no check reads a whole table (``table_stats``). Row counts are estimates, and column
values and duplicate keys come from an index or a sample. ``CheckReport.notes`` lists
the figures that are estimated or sampled.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from segmento.adapters.shopdb.draft import REFERENCE_FIELDS, pick_watermark
from segmento.adapters.shopdb.introspect import MappingError, SourceTables, check_mapping
from segmento.adapters.shopdb.mapping import ShopMapping, TableMap, env_references
from segmento.adapters.shopdb.mapping_file import read_mapping
from segmento.adapters.shopdb.preview import TablePreview, preview_tables
from segmento.adapters.shopdb.schema_info import TableInfo, read_schema
from segmento.adapters.shopdb.table_stats import ColumnValues, column_values, repeated_values, sample_column, scans_tables
from segmento.adapters.urls import create_engine, mask_url, missing_variable, redact
from segmento.engine.catalog import closest
from segmento.engine.errors import DataError

@dataclass
class CheckReport:
    """The findings of ``check_shopdb``: errors, which stop an import, warnings, and the preview.

    ``database`` is the shop database URL with its password masked, when the mapping's
    URL could be resolved. ``schema_checked`` is false when the live schema could not
    be compared (no URL, or no connection). ``notes`` name the figures that are estimates
    or come from a sample, because whole tables were not read.
    """

    mapping_path: Path
    database: str | None = None
    errors: list[DataError] = field(default_factory=list)
    warnings: list[DataError] = field(default_factory=list)
    tables: list[TablePreview] = field(default_factory=list)
    schema_checked: bool = False
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def check_shopdb(
    path: str | Path, *, environ: Mapping[str, str] | None = None, samples: int = 3, exact: bool = False
) -> CheckReport:
    """Check the mapping file at ``path`` against its shop database; read ``samples`` rows per table for the preview.

    With ``exact``, rows are counted, and code values and duplicate keys looked for, in
    every row, which reads whole tables on the shop's server.
    """
    report = CheckReport(Path(path))
    read = read_mapping(path)
    report.errors.extend(sorted(read.problems, key=_position))
    mapping = read.mapping
    if mapping is None or not mapping.url:
        return report

    url = _resolve_url(mapping, os.environ if environ is None else environ, report)
    if url is None:
        return report
    report.database = mask_url(url)

    try:
        # The check connects about eight times, one after another, so one pooled connection serves
        # them all. Each new PyMySQL connection took about 55 ms to build a TLS context on the
        # 2-core development machine.
        shop = create_engine(url, pool_size=1)
    except ImportError as error:
        report.errors.append(
            DataError(
                f"the database driver of {report.database} is not installed: {error}",
                location=mapping.url_location,
                hint="Install it, for MySQL and MariaDB with pip install 'segmento[mysql]'",
                code="shopdb_driver",
            )
        )
        return report
    try:
        checked = _check_schema(shop, mapping, url, report, exact)
        if checked is not None and report.ok:
            tables, schema = checked
            report.tables = preview_tables(shop, mapping, tables, schema, samples, exact=exact)
            report.notes.extend(_estimate_notes(report.tables))
    except sa.exc.SQLAlchemyError as error:
        report.errors.append(
            DataError(
                f"reading the shop database {report.database} failed: {redact(str(getattr(error, 'orig', error)), [url])}",
                location=mapping.url_location,
                hint="Check that the user the url names may read the mapped tables",
                code="shopdb_read",
            )
        )
    finally:
        shop.dispose()
    report.errors.sort(key=_position)
    report.warnings.sort(key=_position)
    report.notes[:] = list(dict.fromkeys(report.notes))
    return report


def _position(problem: DataError) -> tuple[str, int, int]:
    """Return where a problem is, for listing problems in the order of the mapping file's lines."""
    location = problem.location
    return (location.source or "", location.line or 0, location.column or 0)


def _resolve_url(mapping: ShopMapping, environ: Mapping[str, str], report: CheckReport) -> sa.URL | None:
    """Return the shop database URL; record a problem for each environment variable it needs that is not set or is empty."""
    missing = {name: state for name in env_references(mapping.url) if (state := missing_variable(name, environ)) is not None}
    for name, state in missing.items():
        report.errors.append(
            DataError(
                f"environment variable {name} {state}",
                location=mapping.url_location,
                value=name,
                hint=f"Export {name} with the shop database's URL, or the part of it the url refers to, "
                f"for example export {name}='mysql+pymysql://reader:PASSWORD@db.internal:3306/shop'"
                if _whole_reference(mapping.url, name)
                else f"Export {name} with the part of the url it stands for",
                code="shopdb_env",
            )
        )
    if missing:
        return None
    try:
        return mapping.resolve_url(environ)
    except DataError as error:
        report.errors.append(error)
        return None


def _whole_reference(url: str, name: str) -> bool:
    return url.strip() == "${" + name + "}"


def _check_schema(
    shop: sa.Engine, mapping: ShopMapping, url: sa.URL, report: CheckReport, exact: bool
) -> tuple[SourceTables, dict[str, TableInfo]] | None:
    """Compare the mapping with the live schema and data; return the mapped tables and their schema when they all fit."""
    try:
        connection = shop.connect()
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        report.errors.append(
            DataError(
                f"cannot connect to the shop database {report.database}: {redact(str(error.orig), [url])}",
                location=mapping.url_location,
                hint="Check the host, the database name and the credentials in the variables the url refers to",
                code="shopdb_connect",
            )
        )
        return None
    with connection:
        report.schema_checked = True
        tables: SourceTables | None = None
        try:
            tables = check_mapping(mapping, connection, report.warnings)
        except MappingError as error:
            report.errors.extend(error.problems)
        inspector = sa.inspect(connection)
        existing = {*inspector.get_table_names(), *inspector.get_view_names()}
        schema = read_schema(connection, sorted({item.table for item in mapping.tables.values() if item.table in existing}))
        report.errors[:] = [
            _with_watermark_hint(problem, mapping, schema) for problem in report.errors if not _watermark_of_missing_table(problem, existing)
        ]
        for table_map in mapping.tables.values():
            info = schema.get(table_map.table)
            if info is None:
                continue
            _check_key(connection, table_map, info, report, exact)
            _check_watermark(table_map, info, mapping, report)
            _check_codes(connection, table_map, info, report, exact)
            _check_references(table_map, info, mapping, schema, report)
        if "orders" in mapping.tables and mapping.tables["orders"].table in schema:
            _check_statuses(connection, mapping, schema[mapping.tables["orders"].table], report, exact)
    return None if tables is None else (tables, schema)


# --- keys, watermarks, codes, statuses, references ------------------------------------------


def _check_key(connection: sa.Connection, table_map: TableMap, info: TableInfo, report: CheckReport, exact: bool) -> None:
    """Look for key values in more than one row, unless a primary key or unique index rules them out.

    Without ``exact`` only a sample is searched: the last rows by key when an index
    starts with it, so that equal values are next to each other.
    """
    column = info.column(table_map.key)
    if column is None or info.is_unique([table_map.key]):
        return
    sample: str | None = None
    if scans_tables(connection, exact):
        source = sa.table(table_map.table, sa.column(table_map.key))
        key = source.c[table_map.key]
        repeated = sa.select(key).where(key.is_not(None)).group_by(key).having(sa.func.count() > 1).subquery()
        duplicates = int(connection.scalar(sa.select(sa.func.count()).select_from(repeated)) or 0)
    else:
        order = [table_map.key] if info.index_starting_with(table_map.key) else None
        values, sample = sample_column(connection, info, table_map.key, order)
        duplicates = repeated_values(values)
    if duplicates:
        among = f" of {sample}" if sample is not None else ""
        repeated = "1 value occurs" if duplicates == 1 else f"{duplicates:,} values occur"
        report.errors.append(
            DataError(
                f"key {table_map.table}.{table_map.key} is not unique: {repeated} in more than one row{among}",
                location=table_map.key_location,
                value=table_map.key,
                hint="The key must identify one row: map the table's primary key, or a column with a unique index",
                code="shopdb_key",
            )
        )
        return
    report.warnings.append(
        DataError(
            f"key {table_map.table}.{table_map.key} has no primary key or unique index, so nothing keeps it unique "
            "and lookups by key read the whole table",
            location=table_map.key_location,
            value=table_map.key,
            hint=f"Add one: CREATE UNIQUE INDEX ux_{table_map.table}_{table_map.key} ON {table_map.table} ({table_map.key})",
            code="shopdb_key",
        )
    )
    if sample is not None:
        report.notes.append(
            f"no value of key {table_map.table}.{table_map.key} occurs twice in {sample}; --exact looks in every row"
        )


def _check_watermark(table_map: TableMap, info: TableInfo, mapping: ShopMapping, report: CheckReport) -> None:
    """Warn about a watermark that is the key, or that may be ``NULL`` while reconciliation is on.

    ``introspect`` warns about a ``NULL`` watermark when reconciliation is off.
    """
    if table_map.watermark is None:
        return
    if table_map.watermark == table_map.key:
        report.warnings.append(
            DataError(
                f"the watermark of {table_map.table} is its key, so imports copy new rows only: a change to a row "
                "copied before is not seen",
                location=table_map.watermark_location or table_map.location,
                value=table_map.watermark,
                hint=f"That suits a table whose rows are never changed. Otherwise add an update-time column: ALTER TABLE "
                f"{table_map.table} ADD COLUMN updated_at DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE "
                f"CURRENT_TIMESTAMP(6), ADD INDEX ix_{table_map.table}_updated_at (updated_at, {table_map.key})",
                code="shopdb_key_watermark",
            )
        )
        return
    column = info.column(table_map.watermark)
    if column is None or not column.nullable or not mapping.reconcile.enabled:
        return
    report.warnings.append(
        DataError(
            f"watermark {table_map.table}.{table_map.watermark} may be NULL: reconciliation copies a row where it is "
            "NULL once, when its key is new, and later changes to that row are not seen",
            location=table_map.watermark_location or table_map.location,
            value=table_map.watermark,
            hint=f"Make the shop set it on every write: ALTER TABLE {table_map.table} MODIFY {table_map.watermark} "
            "DATETIME(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6)",
            code="shopdb_null_watermark",
        )
    )


def _watermark_of_missing_table(problem: DataError, existing: set[str]) -> bool:
    """Return whether ``problem`` is a missing watermark of a table that the database does not have.

    The table's "not found" error, with its did-you-mean, is the one to fix first, and a
    watermark hint would suggest an ALTER TABLE on the misspelled name.
    """
    if problem.code != "shopdb_watermark" or not isinstance(problem.value, dict):
        return False
    table = problem.value.get("table")
    return table is not None and table not in existing


def _with_watermark_hint(problem: DataError, mapping: ShopMapping, schema: Mapping[str, TableInfo]) -> DataError:
    """Return ``problem``; for a missing watermark, name the column of the live table that looks like one."""
    if problem.code != "shopdb_watermark" or not isinstance(problem.value, dict):
        return problem
    info = schema.get(str(problem.value.get("table")))
    if info is None:
        return problem
    guess, why_not = pick_watermark(info, problem.value.get("key"))
    if guess is not None and guess.value != problem.value.get("key"):
        hint = f"Column {guess.value} looks like one ({guess.reason}): add 'watermark: {guess.value}'"
    elif guess is not None:
        hint = f"Table {info.name} has no update-time column. {guess.reason}. {problem.hint}"
    else:
        hint = why_not or problem.hint
    return DataError(problem.message, location=problem.location, value=problem.value, hint=hint, code=problem.code)


def _check_codes(connection: sa.Connection, table_map: TableMap, info: TableInfo, report: CheckReport, exact: bool) -> None:
    """Warn about column values that ``codes`` does not list when there is no ``default``: their rows are rejected."""
    for item in table_map.columns.values():
        column = info.column(item.column)
        if item.codes is None or item.has_default or column is None:
            continue
        found = _values(connection, info, item.column, report, exact)
        if found.values is None:
            continue
        unlisted = sorted({str(value) for value in found.values} - set(item.codes))
        if unlisted:
            report.warnings.append(
                DataError(
                    f"{table_map.table}.{item.column} has values that codes does not list: {', '.join(unlisted)}; "
                    "rows with them are rejected (unknown_code)",
                    location=item.location,
                    value=unlisted,
                    hint="List them under codes, or add default: null",
                    code="shopdb_codes",
                )
            )


def _check_statuses(connection: sa.Connection, mapping: ShopMapping, info: TableInfo, report: CheckReport, exact: bool) -> None:
    """Warn about status codes under ``skip`` or ``returns`` that the status column never has (a typo)."""
    status = mapping.tables["orders"].columns.get("status")
    column = info.column(status.column) if status is not None else None
    if status is None or column is None:
        return
    found = _values(connection, info, status.column, report, exact)
    if found.values is None:
        return
    present = sorted({str(value) for value in found.values})
    among = f" in {found.sample}" if found.sample is not None else ""
    for kind, codes in (("skip", mapping.statuses.skip), ("returns", mapping.statuses.returns)):
        for code in sorted(codes - set(present)):
            suggestion = closest(code, present)
            report.warnings.append(
                DataError(
                    f"status {code!r} under {kind} is not a value of {info.name}.{status.column}{among}",
                    location=status.location,
                    value=code,
                    hint=(f"Did you mean {suggestion!r}? " if suggestion else "") + "Values: " + ", ".join(present),
                    code="shopdb_status",
                )
            )


def _values(connection: sa.Connection, info: TableInfo, column: str, report: CheckReport, exact: bool) -> ColumnValues:
    """Return a code column's values: its ``ENUM`` values, or those read from its rows, noting a sample in the report."""
    enum_values = info.columns[column].enum_values
    if enum_values is not None:
        return ColumnValues(list(enum_values))
    found = column_values(connection, info, column, exact=exact)
    if found.sample is not None:
        why = ", because no index starts with it" if info.index_starting_with(column) is None else ""
        report.notes.append(f"the values of {info.name}.{column} come from {found.sample}{why}; --exact reads every row")
    return found


def _estimate_notes(tables: list[TablePreview]) -> list[str]:
    """Return notes on the preview's counts that are estimates or were not made, ending with how to get exact ones."""
    notes: list[str] = []
    if any(table.rows.precision == "estimate" for table in tables):
        notes.append("row counts marked 'about' are the database's estimates")
    uncounted = [table.table for table in tables if table.rows.value is None]
    if uncounted:
        notes.append(f"the rows of {', '.join(uncounted)} were not counted, because the database keeps no row estimate for them")
    if notes or any(not table.stats.read_range or table.stats.nulls.value is None for table in tables):
        notes.append("--exact counts every row and reads every watermark range, which scans whole tables")
    return notes


def _check_references(
    table_map: TableMap, info: TableInfo, mapping: ShopMapping, schema: Mapping[str, TableInfo], report: CheckReport
) -> None:
    """Warn when a reference column has a foreign key to another table than the one the mapping names."""
    for (role, target), referred_role in REFERENCE_FIELDS.items():
        item = table_map.columns.get(target)
        referred = mapping.tables.get(referred_role)
        # A referred table that does not exist is an error already.
        if role != table_map.role or item is None or referred is None or referred.table not in schema:
            continue
        key = info.reference(item.column)
        if key is not None and key.referred_table != referred.table:
            report.warnings.append(
                DataError(
                    f"{table_map.table}.{item.column} has a foreign key to {key.referred_table}, "
                    f"but the mapping's {referred_role} table is {referred.table}",
                    location=item.location,
                    value=item.column,
                    hint=f"Check that {target} and the {referred_role} table belong together",
                    code="shopdb_reference",
                )
            )
