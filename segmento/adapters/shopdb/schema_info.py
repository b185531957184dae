"""A snapshot of the shop database's schema, as the SQLAlchemy inspector reflects it.

``shopdb draft`` reads it to guess a mapping, and ``shopdb check`` to judge one: which
columns exist with which types, the primary key, foreign keys, indexes and unique
constraints, and column comments (MySQL and MariaDB keep comments such as
``'0 unknown, 1 male, 2 female'``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa


@dataclass(frozen=True, slots=True)
class ColumnInfo:
    """One column: its type, whether it may be ``NULL``, its default and comment."""

    name: str
    type: sa.types.TypeEngine[Any]
    nullable: bool
    autoincrement: bool = False
    default: str | None = None
    comment: str | None = None

    @property
    def enum_values(self) -> tuple[str, ...] | None:
        """The values of an ``ENUM`` column, or ``None`` for other types."""
        values = getattr(self.type, "enums", None)
        return tuple(str(value) for value in values) if values else None

    @property
    def updates_itself(self) -> bool:
        """Whether the database sets the column on every update (MySQL ``ON UPDATE CURRENT_TIMESTAMP``)."""
        return self.default is not None and "on update" in self.default.lower()

    def is_kind(self, *types: type[sa.types.TypeEngine[Any]]) -> bool:
        return isinstance(self.type, types)


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """A foreign key: ``columns`` of this table refer to ``referred_columns`` of ``referred_table``."""

    columns: tuple[str, ...]
    referred_table: str
    referred_columns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class IndexInfo:
    """An index or unique constraint with its columns in order."""

    name: str
    columns: tuple[str, ...]
    unique: bool


@dataclass(frozen=True)
class TableInfo:
    """One table of the shop database."""

    name: str
    columns: dict[str, ColumnInfo]
    primary_key: tuple[str, ...]
    foreign_keys: tuple[ForeignKey, ...]
    indexes: tuple[IndexInfo, ...]
    comment: str | None = None

    def column(self, name: str) -> ColumnInfo | None:
        return self.columns.get(name)

    def index_starting_with(self, column: str) -> str | None:
        """Return the name of an index whose first column is ``column`` (``PRIMARY`` for the primary key)."""
        if self.primary_key and self.primary_key[0] == column:
            return "PRIMARY"
        for index in self.indexes:
            if index.columns and index.columns[0] == column:
                return index.name
        return None

    def is_unique(self, columns: Sequence[str]) -> bool:
        """Return whether the primary key or a unique index makes ``columns`` unique.

        An index on a subset of ``columns`` makes them unique too.
        """
        wanted = set(columns)
        if self.primary_key and set(self.primary_key) <= wanted:
            return True
        return any(index.unique and index.columns and set(index.columns) <= wanted for index in self.indexes)

    def reference(self, column: str) -> ForeignKey | None:
        """Return the single-column foreign key of ``column``, if it has one."""
        for key in self.foreign_keys:
            if key.columns == (column,):
                return key
        return None


def read_schema(connection: sa.Connection, tables: Iterable[str] | None = None) -> dict[str, TableInfo]:
    """Return the tables of the connection's default schema (or only ``tables``) by name."""
    inspector = sa.inspect(connection)
    names = list(tables) if tables is not None else inspector.get_table_names()
    return {name: read_table(inspector, name) for name in names}


def read_table(inspector: sa.Inspector, name: str) -> TableInfo:
    """Return the reflected description of table ``name``."""
    columns = {
        column["name"]: ColumnInfo(
            name=column["name"],
            type=column["type"],
            nullable=bool(column.get("nullable", True)),
            autoincrement=column.get("autoincrement") is True,
            default=str(column["default"]) if column.get("default") is not None else None,
            comment=column.get("comment"),
        )
        for column in inspector.get_columns(name)
    }
    primary = tuple(inspector.get_pk_constraint(name).get("constrained_columns") or ())
    foreign = tuple(
        ForeignKey(tuple(key["constrained_columns"]), key["referred_table"], tuple(key["referred_columns"]))
        for key in _optional(inspector.get_foreign_keys, name)
        if key.get("referred_table")
    )
    indexes = [
        IndexInfo(str(index.get("name") or ""), tuple(str(column) for column in index["column_names"] if column), bool(index.get("unique")))
        for index in _optional(inspector.get_indexes, name)
        if index.get("column_names")
    ]
    indexes += [
        IndexInfo(str(constraint.get("name") or ""), tuple(constraint["column_names"]), True)
        for constraint in _optional(inspector.get_unique_constraints, name)
        if constraint.get("column_names")
    ]
    try:
        comment = inspector.get_table_comment(name).get("text")
    except (NotImplementedError, sa.exc.SQLAlchemyError):
        comment = None
    return TableInfo(name, columns, primary, foreign, tuple(indexes), comment)


def _optional(method: Any, name: str) -> list[dict[str, Any]]:
    """Return what an inspector method returns, or nothing where the dialect does not implement it."""
    try:
        return list(method(name))
    except (NotImplementedError, sa.exc.SQLAlchemyError):
        return []
