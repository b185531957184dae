"""Fast batch inserts and id look-ups through SQLAlchemy-compiled statements.

``connection.execute(table.insert(), rows)`` builds parameters row by row in Python,
which costs more than the database's own work on an import of half a million rows.
Here each statement is compiled once per dialect and shape, the columns' bind
processors are applied directly, and the rows go to the driver's ``executemany``.
The SQL text always comes from SQLAlchemy's compiler, never from values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from operator import itemgetter
from typing import Any, Final

from sqlalchemy import Column, Connection, Table, bindparam, select
from sqlalchemy.engine import Compiled

LOOKUP_SIZE: Final = 500
"""Ids per look-up statement; well under every driver's limit on bound parameters."""

Processor = Callable[[Any], Any] | None

_insert_cache: dict[tuple[str, str, tuple[str, ...]], tuple[Compiled, list[Processor]]] = {}
_lookup_cache: dict[tuple[str, str, str, int], Compiled] = {}


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings by column name; a missing key is NULL) into ``table``."""
    if not rows:
        return
    names = tuple(column.name for column in table.columns if not _is_autoincrement(column) or column.name in rows[0])
    compiled, processors = _compiled_insert(connection, table, names)
    if compiled.positional:
        order = list(compiled.positiontup or names)
    else:
        order = list(names)
    processor_of = dict(zip(names, processors, strict=True))
    converted = [(position, processor_of[name]) for position, name in enumerate(order) if processor_of[name]]
    # Rows of one batch usually have every key; itemgetter then reads them in C.
    read = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
    parameters: list[Any] = []
    for row in rows:
        try:
            values = list(read(row))
        except KeyError:
            values = [row.get(name) for name in order]
        for position, process in converted:
            values[position] = process(values[position])  # type: ignore[misc]
        parameters.append(tuple(values) if compiled.positional else dict(zip(order, values)))
    connection.exec_driver_sql(compiled.string, parameters)


def existing_ids(connection: Connection, column: Column[Any], ids: Iterable[str]) -> set[str]:
    """Return the members of ``ids`` that ``column`` already holds."""
    requested = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(requested), LOOKUP_SIZE):
        chunk = requested[start : start + LOOKUP_SIZE]
        compiled = _compiled_lookup(connection, column, len(chunk))
        names = [f"id_{position}" for position in range(len(chunk))]
        if compiled.positional:
            parameters: Any = tuple(chunk)
        else:
            parameters = dict(zip(names, chunk, strict=True))
        found.update(row[0] for row in connection.exec_driver_sql(compiled.string, parameters))
    return found


def _compiled_insert(connection: Connection, table: Table, names: tuple[str, ...]) -> tuple[Compiled, list[Processor]]:
    dialect = connection.dialect
    key = (dialect.name, table.name, names)
    cached = _insert_cache.get(key)
    if cached is None:
        statement = table.insert().values({name: bindparam(name) for name in names})
        compiled = statement.compile(dialect=dialect)
        processors = [table.columns[name].type._cached_bind_processor(dialect) for name in names]
        cached = (compiled, processors)
        _insert_cache[key] = cached
    return cached


def _compiled_lookup(connection: Connection, column: Column[Any], size: int) -> Compiled:
    dialect = connection.dialect
    table_name = column.table.name  # type: ignore[attr-defined]
    key = (dialect.name, table_name, column.name, size)
    compiled = _lookup_cache.get(key)
    if compiled is None:
        parameters = [bindparam(f"id_{position}") for position in range(size)]
        compiled = select(column).where(column.in_(parameters)).compile(dialect=dialect)
        _lookup_cache[key] = compiled
    return compiled


def _is_autoincrement(column: Column[Any]) -> bool:
    return bool(column.primary_key and column.autoincrement is True)
