"""Relational layout of profiles, built from the field catalog.

- ``profiles``: ``id`` and one column per stored scalar field. Each string field also
  has its prepared forms ``<field>_ci``, ``<field>_ai`` and ``<field>_ci_ai``
  (``text.FOLD_SUFFIXES``), written with the profile.
- ``profile_<field>``: one row per member of a list, map or ranked field. Its columns
  are ``profile_id``, ``rank`` (position from 1, the rank of a ranked list), ``key``
  (the member, or the map's key) with its prepared forms, and ``value`` (the count or
  score of a map).
- ``events``: the profile's tracked events, instants in UTC.
- ``memberships``: which profile is in which segment.

Derived fields (``age``) have no column; the compiler computes them from their source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Final, Literal

import sqlalchemy as sa
from sqlalchemy.types import TypeEngine

from segmento.engine.ast import TextOptions
from segmento.engine.catalog import FieldSpec
from segmento.engine.errors import DataError
from segmento.engine.registry import Registry, get_registry
from segmento.engine.text import FOLD_SUFFIXES
from segmento.engine.types import FieldType, ScalarKind
from segmento.plugins.sql.types import KEY_LENGTH, ExactDecimal, ExactText, UtcDateTime

logger = logging.getLogger(__name__)

Layout = Literal["list", "map", "ranked"]

COLLECTION_LAYOUTS: Final[dict[str, Layout]] = {
    "string_list": "list",
    "number_list": "list",
    "count_map": "map",
    "score_map": "map",
    "ranked_list": "ranked",
}
"""Storage layout of each collection type, which also decides how keyed tests read it.

A ``map`` sums the values of the listed keys, and a ``ranked`` list takes the best rank.
A plugin type that has members but no keyed kind is stored as a ``list``.
"""

# SQLite only makes INTEGER PRIMARY KEY an alias of the auto-incrementing rowid.
_EVENT_ID_TYPE: Final = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def column_type(kind: ScalarKind) -> TypeEngine[object]:
    """Return the column type that stores values of ``kind`` exactly."""
    types: dict[str, TypeEngine[object]] = {
        "string": ExactText(),
        "integer": sa.BigInteger(),
        "decimal": ExactDecimal(),
        "boolean": sa.Boolean(),
        "date": sa.Date(),
        "datetime": UtcDateTime(),
    }
    return types[kind]


@dataclass(frozen=True, slots=True)
class CollectionTable:
    """The member table of one list, map or ranked field.

    ``member`` is the kind of ``key``; ``value`` is the kind of the map's values, or
    ``None`` when the table has no ``value`` column.
    """

    field: str
    layout: Layout
    table: sa.Table
    member: ScalarKind
    value: ScalarKind | None

    def key_column(self, options: TextOptions) -> sa.Column[object]:
        """Return the key column, or its prepared form for ``options``."""
        return self.table.c[_prepared_name("key", options)]


class ProfileModel:
    """SQLAlchemy tables for the profiles of one field catalog, on their own ``MetaData``.

    Pass ``metadata`` to put the tables beside tables of your own.
    """

    def __init__(self, registry: Registry | None = None, *, metadata: sa.MetaData | None = None) -> None:
        self.registry = registry or get_registry()
        self.metadata = metadata if metadata is not None else sa.MetaData()
        self.scalar_kinds: dict[str, ScalarKind] = {}
        self.collections: dict[str, CollectionTable] = {}
        self.skipped: dict[str, str] = {}
        """Fields without a column or table, with the reason."""

        scalar_columns: list[sa.Column[object]] = []
        for spec in sorted(self.registry.catalog.fields.values(), key=lambda item: item.name):
            if spec.derived_from is not None:
                continue
            field_type = self.registry.types[spec.type]
            if field_type.scalar is not None:
                self.scalar_kinds[spec.name] = field_type.scalar
                scalar_columns.extend(_scalar_columns(spec.name, field_type.scalar))
            elif field_type.member is not None:
                layout = COLLECTION_LAYOUTS.get(field_type.name, "list" if field_type.keyed is None else None)
                if layout is None:
                    self.skipped[spec.name] = (
                        f"type {spec.type!r} has keyed tests that no SQL layout implements; "
                        "add it to segmento.plugins.sql.model.COLLECTION_LAYOUTS"
                    )
                    logger.warning("field %s has no SQL table: %s", spec.name, self.skipped[spec.name])
                else:
                    self.collections[spec.name] = self._collection_table(spec, field_type, layout)
            else:
                self.skipped[spec.name] = f"type {spec.type!r} has neither a scalar nor a member kind"
                logger.warning("field %s has no SQL column: %s", spec.name, self.skipped[spec.name])
        _check_unique_names(scalar_columns)

        self.profiles = sa.Table(
            "profiles",
            self.metadata,
            sa.Column("id", ExactText(KEY_LENGTH), primary_key=True),
            *scalar_columns,
            mysql_charset="utf8mb4",
        )
        self.events = sa.Table(
            "events",
            self.metadata,
            sa.Column("id", _EVENT_ID_TYPE, primary_key=True, autoincrement=True),
            sa.Column("profile_id", ExactText(KEY_LENGTH), nullable=False),
            sa.Column("kind", ExactText(KEY_LENGTH), nullable=False),
            sa.Column("time", UtcDateTime(), nullable=False),
            sa.Column("product_id", ExactText()),
            sa.Column("category", ExactText()),
            sa.Column("price", ExactDecimal()),
            sa.Column("quantity", ExactDecimal()),
            sa.Column("value", ExactDecimal()),
            sa.Index("ix_events_profile_kind_time", "profile_id", "kind", "time"),
            mysql_charset="utf8mb4",
        )
        self.memberships = sa.Table(
            "memberships",
            self.metadata,
            sa.Column("profile_id", ExactText(KEY_LENGTH), primary_key=True),
            sa.Column("segment_id", ExactText(KEY_LENGTH), primary_key=True),
            sa.Index("ix_memberships_segment", "segment_id"),
            mysql_charset="utf8mb4",
        )

    # --- lookups used by the compiler and the store -----------------------------------

    def column(self, field: str, options: TextOptions | None = None) -> sa.Column[object]:
        """Return the ``profiles`` column of scalar ``field``, or its prepared form for ``options``."""
        if options is not None and not options.exact and self.scalar_kinds.get(field) == "string":
            return self.profiles.c[_prepared_name(field, options)]
        return self.profiles.c[field]

    def tables(self) -> list[sa.Table]:
        """Return every table of the model, the ``profiles`` table first."""
        return [self.profiles, *(item.table for item in self.collections.values()), self.events, self.memberships]

    def _collection_table(self, spec: FieldSpec, field_type: FieldType, layout: Layout) -> CollectionTable:
        member = field_type.member or "string"
        value = field_type.keyed if layout == "map" else None
        columns: list[sa.Column[object]] = [
            sa.Column("profile_id", ExactText(KEY_LENGTH), primary_key=True),
            sa.Column("rank", sa.Integer(), primary_key=True, autoincrement=False),
            *_scalar_columns("key", member, nullable=False),
        ]
        if value is not None:
            columns.append(sa.Column("value", column_type(value), nullable=False))
        table = sa.Table(f"profile_{spec.name}", self.metadata, *columns, mysql_charset="utf8mb4")
        return CollectionTable(spec.name, layout, table, member, value)


def _scalar_columns(name: str, kind: ScalarKind, *, nullable: bool = True) -> list[sa.Column[object]]:
    columns = [sa.Column(name, column_type(kind), nullable=nullable)]
    if kind == "string":
        for suffix in FOLD_SUFFIXES.values():
            columns.append(sa.Column(f"{name}{suffix}", ExactText(), nullable=nullable))
    return columns


def _prepared_name(name: str, options: TextOptions) -> str:
    if options.exact:
        return name
    return name + FOLD_SUFFIXES[(options.ignore_case, options.ignore_accents)]


def _check_unique_names(columns: list[sa.Column[object]]) -> None:
    seen: set[str] = {"id"}
    for column in columns:
        if column.name in seen:
            raise DataError(
                f"field {column.name!r} clashes with another column of the profiles table",
                value=column.name,
                hint="Rename the field: 'id' and the suffixes _ci, _ai and _ci_ai of string fields are taken",
            )
        seen.add(column.name)
