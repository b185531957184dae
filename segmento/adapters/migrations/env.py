"""Alembic environment of segmento's store migrations.

``upgrade_store`` passes an open connection in ``config.attributes["connection"]`` and
the field catalog's ``ProfileModel`` in ``config.attributes["profile_model"]``. After the
versioned migrations, an upgrade to the head revision then adds the catalog's profile
tables (``catalog.sync_catalog``) with the same connection. Alembic's own commands, run
with ``sqlalchemy.url`` set (for example to autogenerate a revision), get a connection
of their own and leave the profile tables alone.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from segmento.adapters.migrations import VERSION_TABLE, head_revision
from segmento.adapters.migrations.catalog import sync_catalog
from segmento.adapters.migrations.schema import fixed_metadata
from segmento.adapters.urls import create_engine

config = context.config


def run_migrations(connection: sa.Connection) -> None:
    fixed = fixed_metadata()

    def include_name(name: str | None, kind: str, parent: dict[str, str | None]) -> bool:
        # The catalog's profile tables are not part of any revision.
        return kind != "table" or name in fixed.tables

    context.configure(
        connection=connection,
        target_metadata=fixed,
        version_table=VERSION_TABLE,
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
    model = config.attributes.get("profile_model")
    if model is not None and context.get_context().get_current_revision() == head_revision():
        config.attributes["catalog_change"] = sync_catalog(connection, model)


if context.is_offline_mode():
    raise SystemExit("segmento's migrations need a database connection; offline (--sql) mode is not supported")

given = config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "", poolclass=sa.pool.NullPool)
    with engine.begin() as connection:
        run_migrations(connection)
