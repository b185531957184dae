"""The profile tables, which follow the field catalog rather than a revision.

Plugins and catalog files add fields, so the ``profiles`` columns and the
``profile_<field>`` tables differ from shop to shop. After the versioned migrations,
``sync_catalog`` compares the tables of the catalog's ``ProfileModel`` with the
database and adds what is missing: tables, columns and indexes. It never drops or
changes anything. A column the catalog no longer has stays with its data, and a
column whose type no longer matches the catalog stops the upgrade with an error.

Each catalog applied is recorded by its fingerprint in ``profile_catalogs``, so a
store that has seen the catalog before is not compared again.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations

from segmento.adapters.ingest.model import Timestamp, naive_utc
from segmento.engine.errors import SegmentoError
from segmento.plugins.sql.model import ProfileModel

logger = logging.getLogger(__name__)

catalog_metadata = sa.MetaData()

profile_catalogs = sa.Table(
    "profile_catalogs",
    catalog_metadata,
    sa.Column("fingerprint", sa.String(64), primary_key=True, doc="SHA-256 of the profile tables' definition"),
    sa.Column("definition", sa.Text, nullable=False, doc="JSON list of the tables and their columns"),
    sa.Column("applied_at", Timestamp, nullable=False),
)

FIXED_TABLES: Final = frozenset({"events", "memberships"})
"""Tables of ``ProfileModel`` that the versioned migrations own."""


class SchemaError(SegmentoError):
    """The store's schema cannot be brought to what this segmento and its field catalog need."""

    code = "schema"


@dataclass
class CatalogChange:
    """What ``sync_catalog`` did to the profile tables."""

    fingerprint: str
    added_tables: list[str] = field(default_factory=list)
    added_columns: list[str] = field(default_factory=list)
    added_indexes: list[str] = field(default_factory=list)
    kept_columns: list[str] = field(default_factory=list)
    """Columns of the database that the catalog no longer has, left as they are."""

    @property
    def changed(self) -> bool:
        return bool(self.added_tables or self.added_columns or self.added_indexes)


def catalog_tables(model: ProfileModel) -> list[sa.Table]:
    """Return the tables of ``model`` that follow the field catalog."""
    return [table for table in model.tables() if table.name not in FIXED_TABLES]


def definition(model: ProfileModel, dialect: sa.Dialect) -> list[str]:
    """Return one line per catalog column: table, column, type class, DDL type, nullability, key."""
    lines = []
    for table in sorted(catalog_tables(model), key=lambda item: item.name):
        for column in table.columns:
            ddl = column.type.compile(dialect=dialect)
            lines.append(
                f"{table.name}.{column.name} {type(column.type).__name__} {ddl}"
                f" nullable={column.nullable} key={column.primary_key}"
            )
    return lines


def fingerprint(model: ProfileModel, dialect: sa.Dialect) -> str:
    """Return the SHA-256 of the catalog tables' definition on ``dialect``."""
    return hashlib.sha256("\n".join(definition(model, dialect)).encode("utf-8")).hexdigest()


def is_recorded(connection: sa.Connection, model: ProfileModel) -> bool:
    """Return whether ``model``'s catalog was applied to this store before."""
    value = fingerprint(model, connection.dialect)
    found = connection.execute(sa.select(profile_catalogs.c.fingerprint).where(profile_catalogs.c.fingerprint == value))
    return found.first() is not None


def sync_catalog(connection: sa.Connection, model: ProfileModel) -> CatalogChange:
    """Add the catalog tables, columns and indexes that the database lacks, and record the catalog."""
    wanted = sa.MetaData()
    for table in catalog_tables(model):
        table.to_metadata(wanted)
    change = CatalogChange(fingerprint(model, connection.dialect))

    def include_name(name: str | None, kind: str, parent: dict[str, Any]) -> bool:
        # Reflect only the catalog's tables; the rest belong to the versioned migrations.
        return kind != "table" or name in wanted.tables

    context = MigrationContext.configure(connection, opts={"compare_type": True, "include_name": include_name})
    operations = Operations(context)
    for diff in _flatten(compare_metadata(context, wanted)):
        _apply(diff, operations, connection, change)
    if change.kept_columns:
        logger.info("columns kept although the field catalog no longer has them: %s", ", ".join(change.kept_columns))
    if not is_recorded(connection, model):
        connection.execute(
            profile_catalogs.insert().values(
                fingerprint=change.fingerprint,
                definition=json.dumps(definition(model, connection.dialect), ensure_ascii=False),
                applied_at=naive_utc(datetime.now(UTC)),
            )
        )
    return change


def _apply(diff: tuple[Any, ...], operations: Operations, connection: sa.Connection, change: CatalogChange) -> None:
    kind = diff[0]
    if kind == "add_table":
        table: sa.Table = diff[1]
        table.create(connection)
        change.added_tables.append(table.name)
        logger.info("created profile table %s", table.name)
    elif kind == "add_column":
        table_name, column = diff[2], diff[3]
        operations.add_column(table_name, column._copy())
        change.added_columns.append(f"{table_name}.{column.name}")
        logger.info("added column %s.%s", table_name, column.name)
    elif kind == "add_index":
        index: sa.Index = diff[1]
        index.create(connection)
        change.added_indexes.append(str(index.name))
        logger.info("created index %s", index.name)
    elif kind == "remove_column":
        column = diff[3]
        change.kept_columns.append(f"{diff[2]}.{column.name}")
    elif kind == "modify_type":
        table_name, column_name, existing, wanted = diff[2], diff[3], diff[5], diff[6]
        raise SchemaError(
            f"column {table_name}.{column_name} is {existing.compile(dialect=connection.dialect)} in the store, "
            f"but the field catalog makes it {wanted.compile(dialect=connection.dialect)}",
            value=f"{table_name}.{column_name}",
            hint="segmento never changes the type of a column that holds data: give the field a new name, "
            "or convert the column yourself (ALTER TABLE) and run again",
            params={"table": table_name, "column": column_name},
        )
    else:
        # Nullability, defaults, comments and removed indexes are left as the database has them.
        logger.debug("profile table difference left alone: %s", diff[:4])


def _flatten(diffs: list[Any]) -> list[tuple[Any, ...]]:
    """Return alembic's differences one per item: column modifications come grouped in lists."""
    flat: list[tuple[Any, ...]] = []
    for diff in diffs:
        if isinstance(diff, list):
            flat.extend(diff)
        else:
            flat.append(diff)
    return flat
