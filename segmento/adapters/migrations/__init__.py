"""Creating and upgrading a store's schema with Alembic.

``upgrade_store`` is the one path to a store's schema: ``SqlProfileStore.create_schema``,
``segmento run`` and ``segmento db upgrade`` all call it. It runs the versioned
migrations in ``versions/`` (the tables every store has) up to the head revision, then
``catalog.sync_catalog`` for the profile tables of the field catalog. A store that is
at the head revision and has seen the catalog is left untouched after two reads.

Concurrent upgrades of one store are serialised: SQLite by a ``BEGIN IMMEDIATE``
transaction around the whole upgrade, MySQL and MariaDB by ``GET_LOCK``, PostgreSQL by
an advisory lock (``locks.schema_transaction``).

The revision is stored in ``segmento_schema_version``, not Alembic's default table
name, so a database shared with another application's migrations keeps both.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy.exc import OperationalError
from sqlalchemy.pool import NullPool

from segmento.adapters.locks import SchemaLockError, schema_transaction
from segmento.adapters.migrations.catalog import CatalogChange, SchemaError, is_recorded
from segmento.adapters.urls import mask_url
from segmento.plugins.sql.model import ProfileModel

logger = logging.getLogger(__name__)

VERSION_TABLE: Final = "segmento_schema_version"
SCRIPT_LOCATION: Final = Path(__file__).resolve().parent
DEFAULT_SCHEMA_WAIT: Final = 60.0
"""Seconds an upgrade waits for another process that is upgrading the same store."""

__all__ = [
    "SchemaChange",
    "SchemaError",
    "alembic_config",
    "head_revision",
    "is_current",
    "store_revision",
    "upgrade_store",
]


@dataclass
class SchemaChange:
    """What an upgrade did: the revision before and after, and the catalog tables it added."""

    before: str | None
    after: str | None
    catalog: CatalogChange | None = None

    @property
    def changed(self) -> bool:
        return self.before != self.after or (self.catalog is not None and self.catalog.changed)


def alembic_config(connection: sa.Connection | None = None, model: ProfileModel | None = None) -> Config:
    """Return an Alembic ``Config`` for segmento's migrations, bound to ``connection``.

    With ``model``, an upgrade to the head revision also adds its catalog's profile tables.
    docs/storage.md shows how to write a new revision with it.
    """
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    config.attributes["profile_model"] = model
    return config


@cache
def head_revision() -> str:
    """Return the newest revision of the versioned migrations."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise SchemaError("segmento's migration scripts are missing", hint="Reinstall segmento")
    return head


def store_revision(connection: sa.Connection) -> str | None:
    """Return the store's schema revision, or ``None`` when no migration has run on it."""
    if not sa.inspect(connection).has_table(VERSION_TABLE):
        return None
    version = sa.table(VERSION_TABLE, sa.column("version_num"))
    return connection.execute(sa.select(version.c.version_num)).scalar()


def is_current(engine: sa.Engine, model: ProfileModel) -> bool:
    """Return whether the store is at the head revision and has seen ``model``'s catalog."""
    return _current_revision(engine, model) is not None


def _current_revision(engine: sa.Engine, model: ProfileModel) -> str | None:
    """Return the head revision when the store is at it and has seen ``model``'s catalog, else ``None``."""
    with engine.connect() as connection:
        revision = store_revision(connection)
        if revision == head_revision() and is_recorded(connection, model):
            return revision
    return None


def upgrade_store(
    engine: sa.Engine,
    model: ProfileModel,
    *,
    revision: str = "head",
    wait: float = DEFAULT_SCHEMA_WAIT,
) -> SchemaChange:
    """Bring the store on ``engine`` to ``revision`` and, at the head, to ``model``'s catalog.

    Raises ``SchemaError`` when the store is newer than this segmento or a column's
    type conflicts with the catalog, and ``SchemaLockError`` when another upgrade holds
    the store for longer than ``wait`` seconds.
    """
    to_head = revision in ("head", head_revision())
    current = _current_revision(engine, model) if to_head else None
    if current is not None:
        return SchemaChange(current, current)
    where = mask_url(engine.url)
    try:
        with _migration_engine(engine, wait) as migrating, migrating.connect() as connection:
            with schema_transaction(connection, wait):
                before = store_revision(connection)
                _check_known(before, where)
                config = alembic_config(connection, model if to_head else None)
                command.upgrade(config, revision)
                after = store_revision(connection)
                change = SchemaChange(before, after, config.attributes.get("catalog_change"))
    except OperationalError as error:
        if "database is locked" in str(error.orig):
            raise SchemaLockError(
                f"the store {where} stayed locked by another process for more than {wait:g} s, "
                "so its schema could not be upgraded",
                hint="Wait for the other run or upgrade to finish, then try again",
            ) from error
        raise
    except CommandError as error:
        raise SchemaError(f"cannot upgrade the schema of {where}: {error}", hint="Check the revision name") from error
    if change.changed:
        logger.info("store %s schema upgraded from %s to %s", where, change.before or "empty", change.after)
    return change


def _check_known(revision: str | None, where: str) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    known = {item.revision for item in script.walk_revisions()}
    if revision not in known:
        raise SchemaError(
            f"the store {where} has schema revision {revision!r}, which this segmento does not know "
            f"(its newest is {head_revision()!r})",
            value=revision,
            hint="A newer segmento upgraded this store: upgrade segmento before using the store",
        )


@contextmanager
def _migration_engine(engine: sa.Engine, wait: float) -> Iterator[sa.Engine]:
    """Yield the engine that runs the upgrade: for an SQLite file, one whose transactions are ``BEGIN IMMEDIATE``.

    Python's sqlite3 module runs DDL outside any transaction unless it is told to leave
    transactions alone, so the upgrade gets a connection of its own in that mode.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        yield engine
        return
    migrating = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": wait})

    @sa.event.listens_for(migrating, "connect")
    def _manual_transactions(dbapi_connection: sa.engine.interfaces.DBAPIConnection, record: object) -> None:
        dbapi_connection.isolation_level = None  # type: ignore[attr-defined]

    @sa.event.listens_for(migrating, "begin")
    def _begin_immediate(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        yield migrating
    finally:
        migrating.dispose()
