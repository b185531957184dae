"""The state tables of shop database imports and of skipped segment evaluations.

``shopdb_watermarks``, ``segment_evaluations`` and ``changed_fields`` were created by
``MetaData.create_all`` at the first import or run, outside the migrations. On MySQL
and MariaDB they therefore got the database's default collation, which folds case and
accents, unlike every other table since revision 0002. This revision creates them, and
the new ``shopdb_keys`` and ``shopdb_reconciliations``, with utf8mb4 and the binary
collation. A table that already exists is converted to that collation on MySQL and
MariaDB and kept as it is elsewhere, with its rows: the older definitions have the
same columns, so SQLite and PostgreSQL stores need no change.

The table definitions are a copy, not imports of ``segmento.adapters.shopdb.state``,
so that a change to that module needs a new revision instead of changing this one.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from segmento.plugins.sql.types import exact_collation

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ID_LENGTH = 96
KEY_LENGTH = 191
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _watermarks(options: dict[str, Any]) -> None:
    op.create_table(
        "shopdb_watermarks",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("columns", sa.String(255), nullable=False),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        **options,
    )


def _segment_evaluations(options: dict[str, Any]) -> None:
    op.create_table(
        "segment_evaluations",
        sa.Column("segment_id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("rule_hash", sa.String(64), nullable=False),
        sa.Column("as_of", Timestamp, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("run_id", sa.Integer, nullable=False),
        **options,
    )


def _changed_fields(options: dict[str, Any]) -> None:
    op.create_table(
        "changed_fields",
        sa.Column("field", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("noted_at", Timestamp, nullable=False),
        **options,
    )


def _keys(options: dict[str, Any]) -> None:
    op.create_table(
        "shopdb_keys",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(KEY_LENGTH), primary_key=True),
        sa.Column("digest", sa.String(64)),
        **options,
    )


def _reconciliations(options: dict[str, Any]) -> None:
    op.create_table(
        "shopdb_reconciliations",
        sa.Column("source", sa.String(64), primary_key=True),
        sa.Column("import_id", sa.Integer, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=False),
        **options,
    )


TABLES: dict[str, Callable[[dict[str, Any]], None]] = {
    "shopdb_watermarks": _watermarks,
    "segment_evaluations": _segment_evaluations,
    "changed_fields": _changed_fields,
    "shopdb_keys": _keys,
    "shopdb_reconciliations": _reconciliations,
}


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    options: dict[str, Any] = {}
    mysql_family = bind.dialect.name in ("mysql", "mariadb")
    if mysql_family:
        collation = exact_collation(bind.dialect)
        options = {"mysql_charset": "utf8mb4", "mysql_collate": collation}
    for name, create in TABLES.items():
        if name not in existing:
            create(options)
        elif mysql_family:
            quote = bind.dialect.identifier_preparer.quote
            # The table names are the constants above, and the collation comes from a fixed table.
            op.execute(sa.text(f"ALTER TABLE {quote(name)} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}"))


def downgrade() -> None:
    # Revision 0002's segmento creates and uses the three older tables itself, so they
    # stay with their rows; the binary collation works with it too.
    op.drop_table("shopdb_reconciliations")
    op.drop_table("shopdb_keys")
