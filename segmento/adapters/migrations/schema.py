"""The tables the versioned migrations own, gathered for comparisons with a database.

Alembic's autogenerate compares a database with this metadata when a developer writes
a new revision, and the tests check that the head revision creates exactly these
tables. A table added to one of the models below needs a revision in ``versions/``.
"""

from __future__ import annotations

import sqlalchemy as sa

from segmento.adapters.ingest.model import metadata as ingest_metadata
from segmento.adapters.locks import store_locks
from segmento.adapters.migrations.catalog import FIXED_TABLES, profile_catalogs
from segmento.adapters.shopdb.state import metadata as shopdb_metadata
from segmento.plugins.sql.model import ProfileModel


def fixed_metadata() -> sa.MetaData:
    """Return a ``MetaData`` with every table that the versioned migrations create."""
    combined = sa.MetaData()
    for table in ingest_metadata.sorted_tables:
        table.to_metadata(combined)
    model = ProfileModel()
    for table in model.tables():
        if table.name in FIXED_TABLES:
            table.to_metadata(combined)
    store_locks.to_metadata(combined)
    profile_catalogs.to_metadata(combined)
    for table in shopdb_metadata.sorted_tables:
        table.to_metadata(combined)
    return combined
