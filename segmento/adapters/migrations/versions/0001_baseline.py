"""Baseline: the tables of imports, profile builds, runs, events and memberships.

This is the schema that segmento created with ``MetaData.create_all`` before it had
migrations. Stores from that time have some or all of these tables and no revision,
so each table is created only when it does not exist yet; existing tables and their
rows are kept as they are.

The table definitions are a copy, not imports of the live models, so that a change
to a model needs a new revision instead of silently changing this one. The profile
column types are imported, because they hold each database's exact collation.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from segmento.plugins.sql.types import KEY_LENGTH, ExactDecimal, ExactText, UtcDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID_LENGTH = 96
Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
LongText = sa.Text().with_variant(mysql.MEDIUMTEXT(), "mysql", "mariadb")
EventId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _imports() -> None:
    op.create_table(
        "imports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("format", sa.String(32), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("rows_read", sa.Integer, nullable=False),
        sa.Column("rows_stored", sa.Integer, nullable=False),
        sa.Column("rows_known", sa.Integer, nullable=False),
        sa.Column("rows_rejected", sa.Integer, nullable=False),
        sa.Column("customers_touched", sa.Integer, nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=False),
        sa.Index("ix_imports_checksum", "checksum"),
    )


def _rejects() -> None:
    op.create_table(
        "rejects",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("source_file", sa.String(255), nullable=False),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("raw_row", LongText, nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(500), nullable=False),
        sa.Index("ix_rejects_import", "import_id", "line"),
    )


def _customers() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("name", sa.String(255)),
        sa.Column("gender", sa.String(16)),
        sa.Column("birthday", sa.Date),
        sa.Column("city", sa.String(255)),
        sa.Column("country", sa.String(255)),
        sa.Column("signed_up_at", Timestamp),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
    )


def _orders() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("customer_id", sa.String(ID_LENGTH)),
        sa.Column("time", Timestamp, nullable=False),
        sa.Column("country", sa.String(255)),
        sa.Column("is_cancellation", sa.Boolean, nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("source_line", sa.Integer, nullable=False),
        sa.Index("ix_orders_customer", "customer_id", "time"),
    )


def _order_lines() -> None:
    op.create_table(
        "order_lines",
        sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("order_id", sa.String(ID_LENGTH), nullable=False),
        sa.Column("customer_id", sa.String(ID_LENGTH)),
        sa.Column("time", Timestamp, nullable=False),
        sa.Column("is_cancellation", sa.Boolean, nullable=False),
        sa.Column("line_kind", sa.String(16), nullable=False),
        sa.Column("product_id", sa.String(ID_LENGTH), nullable=False),
        sa.Column("description", sa.String(500)),
        sa.Column("category", sa.String(255)),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("unit_price_micros", sa.BigInteger, nullable=False),
        sa.Column("value_micros", sa.BigInteger, nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("source_line", sa.Integer, nullable=False),
        sa.Index("ix_order_lines_customer", "customer_id", "time"),
        sa.Index("ix_order_lines_order", "order_id"),
    )


def _tracked_events() -> None:
    op.create_table(
        "tracked_events",
        sa.Column("id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("time", Timestamp, nullable=False),
        sa.Column("customer_id", sa.String(ID_LENGTH)),
        sa.Column("anonymous_id", sa.String(ID_LENGTH)),
        sa.Column("session_id", sa.String(ID_LENGTH)),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("product_id", sa.String(ID_LENGTH)),
        sa.Column("category", sa.String(255)),
        sa.Column("brand", sa.String(255)),
        sa.Column("price_micros", sa.BigInteger),
        sa.Column("quantity", sa.Integer),
        sa.Column("value_micros", sa.BigInteger),
        sa.Column("search_query", sa.String(500)),
        sa.Column("order_id", sa.String(ID_LENGTH)),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("import_id", sa.Integer, sa.ForeignKey("imports.id"), nullable=False),
        sa.Column("source_line", sa.Integer, nullable=False),
        sa.Column("raw", LongText),
        sa.Index("ix_tracked_events_customer", "customer_id", "time"),
        sa.Index("ix_tracked_events_time", "time"),
    )


def _dirty_profiles() -> None:
    op.create_table(
        "dirty_profiles",
        sa.Column("customer_id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("import_id", sa.Integer, nullable=False),
    )


def _profile_builds() -> None:
    op.create_table(
        "profile_builds",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("as_of", Timestamp, nullable=False),
        sa.Column("settings_hash", sa.String(64), nullable=False),
        sa.Column("profiles_built", sa.Integer, nullable=False),
        sa.Column("profiles_removed", sa.Integer, nullable=False),
        sa.Column("full", sa.Boolean, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("finished_at", Timestamp, nullable=False),
    )


def _segment_runs() -> None:
    op.create_table(
        "segment_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("workspace", sa.String(64), nullable=False),
        sa.Column("as_of", Timestamp, nullable=False),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.Column("finished_at", Timestamp),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", LongText),
    )


def _run_segments() -> None:
    op.create_table(
        "run_segments",
        sa.Column("run_id", sa.Integer, sa.ForeignKey("segment_runs.id"), primary_key=True),
        sa.Column("segment_id", sa.String(ID_LENGTH), primary_key=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("members", sa.Integer, nullable=False),
        sa.Column("joined", sa.Integer, nullable=False),
        sa.Column("left", sa.Integer, nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
    )


def _membership_history() -> None:
    op.create_table(
        "membership_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("segment_id", sa.String(ID_LENGTH), nullable=False),
        sa.Column("profile_id", sa.String(ID_LENGTH), nullable=False),
        sa.Column("joined_run", sa.Integer, nullable=False),
        sa.Column("joined_at", Timestamp, nullable=False),
        sa.Column("left_run", sa.Integer),
        sa.Column("left_at", Timestamp),
        sa.Index("ix_membership_history_segment", "segment_id", "left_run"),
        sa.Index("ix_membership_history_profile", "profile_id"),
    )


def _events() -> None:
    op.create_table(
        "events",
        sa.Column("id", EventId, primary_key=True, autoincrement=True),
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


def _memberships() -> None:
    op.create_table(
        "memberships",
        sa.Column("profile_id", ExactText(KEY_LENGTH), primary_key=True),
        sa.Column("segment_id", ExactText(KEY_LENGTH), primary_key=True),
        sa.Index("ix_memberships_segment", "segment_id"),
        mysql_charset="utf8mb4",
    )


# In dependency order: the foreign keys of later tables refer to earlier ones.
TABLES: dict[str, Callable[[], None]] = {
    "imports": _imports,
    "rejects": _rejects,
    "customers": _customers,
    "orders": _orders,
    "order_lines": _order_lines,
    "tracked_events": _tracked_events,
    "dirty_profiles": _dirty_profiles,
    "profile_builds": _profile_builds,
    "segment_runs": _segment_runs,
    "run_segments": _run_segments,
    "membership_history": _membership_history,
    "events": _events,
    "memberships": _memberships,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    raise RuntimeError("the baseline revision cannot be downgraded; drop the database to start over")
