"""Exact text on MySQL and MariaDB, the run lock, and the record of field catalogs.

- The baseline tables of imports and runs were created in the database's default
  character set and collation. On MySQL and MariaDB that is usually
  ``utf8mb4_general_ci``, which folds case and accents: ids such as ``15056BL`` and
  ``15056bl`` (both in the Online Retail data) were one value in lookups and groups.
  They are converted to utf8mb4 with the binary collation the profile tables use, as
  SQLite and PostgreSQL compare by default. A binary collation tells apart more values
  than a folding one, so the conversion cannot create duplicate keys.
- ``store_locks`` holds the run lock (``segmento.adapters.locks``), with its row.
- ``profile_catalogs`` records the field catalogs applied to the profile tables.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

from segmento.plugins.sql.types import exact_collation

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

Timestamp = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")

# The baseline tables whose text columns had the database's default collation.
# ``events`` and ``memberships`` had an exact collation from the start.
DEFAULT_COLLATION_TABLES = (
    "imports",
    "rejects",
    "customers",
    "orders",
    "order_lines",
    "tracked_events",
    "dirty_profiles",
    "profile_builds",
    "segment_runs",
    "run_segments",
    "membership_history",
)


def upgrade() -> None:
    bind = op.get_bind()
    options = {}
    if bind.dialect.name in ("mysql", "mariadb"):
        collation = exact_collation(bind.dialect)
        options = {"mysql_charset": "utf8mb4", "mysql_collate": collation}
        quote = bind.dialect.identifier_preparer.quote
        for name in DEFAULT_COLLATION_TABLES:
            # Table names are the constants above, and the collation comes from a fixed table.
            op.execute(sa.text(f"ALTER TABLE {quote(name)} CONVERT TO CHARACTER SET utf8mb4 COLLATE {collation}"))

    # MySQL and MariaDB commit each CREATE TABLE at once, so an upgrade that failed half
    # way (a missing privilege, a lost connection) can have made some of these tables
    # without recording the revision. The next upgrade creates only what is missing.
    existing = set(sa.inspect(bind).get_table_names())
    if "store_locks" not in existing:
        op.create_table(
            "store_locks",
            sa.Column("name", sa.String(64), primary_key=True),
            sa.Column("token", sa.String(32)),
            sa.Column("run_id", sa.Integer),
            sa.Column("host", sa.String(255)),
            sa.Column("pid", sa.Integer),
            sa.Column("acquired_at", Timestamp),
            sa.Column("heartbeat_at", Timestamp),
            **options,
        )
    locks = sa.table("store_locks", sa.column("name", sa.String))
    if bind.execute(sa.select(sa.func.count()).select_from(locks).where(locks.c.name == "segment_run")).scalar() == 0:
        op.bulk_insert(locks, [{"name": "segment_run"}])

    if "profile_catalogs" not in existing:
        op.create_table(
            "profile_catalogs",
            sa.Column("fingerprint", sa.String(64), primary_key=True),
            sa.Column("definition", sa.Text, nullable=False),
            sa.Column("applied_at", Timestamp, nullable=False),
            **options,
        )


def downgrade() -> None:
    # NOTE: the text columns keep their binary collation; the baseline works with it too.
    op.drop_table("profile_catalogs")
    op.drop_table("store_locks")
