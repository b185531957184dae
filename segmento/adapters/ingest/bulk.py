"""Fast batch inserts and id look-ups through SQLAlchemy-compiled statements.

``connection.execute(table.insert(), rows)`` builds parameters row by row in Python,
which costs more than the database's own work on an import of half a million rows.
Here each statement is compiled once per table, dialect and shape, the columns' bind
processors are applied directly, and the rows go to the driver's ``executemany`` as
tuples. The SQL text always comes from SQLAlchemy's compiler, never from values.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import Column, Connection, Table, bindparam, select
from sqlalchemy.engine import Compiled, Dialect

LOOKUP_SIZE: Final = 500
"""Ids per look-up statement; well under every driver's limit on bound parameters."""

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class InsertShape:
    """An ``INSERT`` of some columns of a table, compiled for one dialect, and how rows become its parameters."""

    compiled: Compiled
    order: tuple[str, ...]
    """Column names in the order of the statement's placeholders."""
    converted: tuple[tuple[int, Processor], ...]
    """Positions in ``order`` whose values go through the column type's bind processor."""

    def parameters(self, rows: Iterable[Mapping[str, Any]]) -> list[Any]:
        """Return the driver parameters of ``rows``: a tuple per row, or a dict for a named paramstyle."""
        order = self.order
        # Rows of one batch usually have every key; itemgetter then reads them in C.
        read = itemgetter(*order) if len(order) > 1 else (lambda row: (row[order[0]],))
        positional = self.compiled.positional
        parameters: list[Any] = []
        for row in rows:
            try:
                values: tuple[Any, ...] = read(row)
            except KeyError:
                values = tuple(row.get(name) for name in order)
            if self.converted:
                changed = list(values)
                for position, process in self.converted:
                    changed[position] = process(changed[position])  # type: ignore[misc]
                values = tuple(changed)
            parameters.append(values if positional else dict(zip(order, values)))
        return parameters


# Keyed by table, weakly: stores of different field catalogs have different tables of
# the same name, and a table dropped by its store leaves the cache.
_insert_cache: WeakKeyDictionary[Table, dict[tuple[str, str, tuple[str, ...]], InsertShape]] = WeakKeyDictionary()
_lookup_cache: WeakKeyDictionary[Column[Any], dict[tuple[str, str, int], Compiled]] = WeakKeyDictionary()


def insert_rows(connection: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (mappings by column name; a missing key is NULL) into ``table``."""
    if not rows:
        return
    shape = insert_shape(connection, table, rows[0])
    connection.exec_driver_sql(shape.compiled.string, shape.parameters(rows))


def insert_shape(connection: Connection, table: Table, first_row: Mapping[str, Any] | None = None) -> InsertShape:
    """Return the ``INSERT`` of every column of ``table``, without an autoincrement key unless ``first_row`` has it."""
    row_keys = first_row or {}
    names = tuple(column.name for column in table.columns if not _is_autoincrement(column) or column.name in row_keys)
    dialect = connection.dialect
    key = (dialect.name, dialect.paramstyle, names)
    cache = _insert_cache.setdefault(table, {})
    shape = cache.get(key)
    if shape is None:
        statement = table.insert().values({name: bindparam(name) for name in names})
        compiled = statement.compile(dialect=_positional(dialect))
        order = tuple(compiled.positiontup or names) if compiled.positional else names
        processors = {name: table.columns[name].type._cached_bind_processor(dialect) for name in names}
        converted = tuple((position, processors[name]) for position, name in enumerate(order) if processors[name])
        shape = InsertShape(compiled, order, converted)
        cache[key] = shape
    return shape


def existing_ids(connection: Connection, column: Column[Any], ids: Iterable[str]) -> set[str]:
    """Return the members of ``ids`` that ``column`` already holds."""
    requested = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(requested), LOOKUP_SIZE):
        chunk = requested[start : start + LOOKUP_SIZE]
        # Repeating the last id up to a power of two leaves the result as it is and
        # needs one compiled statement per power instead of one per length.
        size = min(1 << (len(chunk) - 1).bit_length(), LOOKUP_SIZE)
        chunk += chunk[-1:] * (size - len(chunk))
        compiled = _compiled_lookup(connection, column, size)
        if compiled.positional:
            parameters: Any = tuple(chunk)
        else:
            parameters = {f"id_{position}": value for position, value in enumerate(chunk)}
        found.update(row[0] for row in connection.exec_driver_sql(compiled.string, parameters))
    return found


def _compiled_lookup(connection: Connection, column: Column[Any], size: int) -> Compiled:
    dialect = connection.dialect
    key = (dialect.name, dialect.paramstyle, size)
    cache = _lookup_cache.setdefault(column, {})
    compiled = cache.get(key)
    if compiled is None:
        parameters = [bindparam(f"id_{position}") for position in range(size)]
        compiled = select(column).where(column.in_(parameters)).compile(dialect=_positional(dialect))
        cache[key] = compiled
    return compiled


def _positional(dialect: Dialect) -> Dialect:
    """Return ``dialect``, or a copy that renders ``%s`` placeholders where PyMySQL's are named.

    PyMySQL accepts both ``%(name)s`` with a dict and ``%s`` with a tuple per row, and
    escapes a tuple's values faster, without building a dict per row.
    """
    if dialect.paramstyle != "pyformat" or dialect.name not in ("mysql", "mariadb"):
        return dialect
    positional = copy.copy(dialect)
    positional.paramstyle = "format"
    positional.positional = True
    return positional


def _is_autoincrement(column: Column[Any]) -> bool:
    return bool(column.primary_key and column.autoincrement is True)
