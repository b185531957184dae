"""Commands on a workspace's store itself: ``segmento db upgrade`` and ``segmento db status``."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import click

from segmento.cli.common import CONFIG_OPTION, WORKSPACE_OPTION, exit_if_failed, store_error_text, workspace_error
from segmento.engine.errors import SegmentoError

logger = logging.getLogger(__name__)


def register(group: click.Group) -> None:
    """Add the ``db`` command group to ``group``."""
    group.add_command(db_group)


@click.group("db")
def db_group() -> None:
    """Create, upgrade and inspect the schema of workspace stores."""


@db_group.command("upgrade")
@CONFIG_OPTION
@WORKSPACE_OPTION
def upgrade_command(config_path: Path, workspace: str | None) -> None:
    """Create each workspace's store schema, or upgrade it to this version of segmento.

    Runs the versioned migrations, then adds the profile tables and columns of the
    field catalog that the store lacks. Nothing is dropped, and a store that is up to
    date is left untouched. A workspace whose store fails, or whose store URL refers
    to an environment variable that is not set, is reported and the others go on.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from segmento.adapters.sql_store import SqlProfileStore
    from segmento.adapters.urls import create_store_engine, mask_url

    workspaces = _workspaces(config_path, workspace)
    failed: list[str] = []
    for item in workspaces:
        url: str | None = None
        try:
            url = item.store_url
            engine = create_store_engine(url)
            try:
                change = SqlProfileStore(engine).create_schema()
            finally:
                engine.dispose()
        except (SegmentoError, SQLAlchemyError) as error:
            failed.append(item.name)
            click.echo(workspace_error(item.name, error, store_error_text(error, url)), err=True)
            continue
        click.echo(f"{item.name}: {mask_url(url)}: {_summary(change)}")
    exit_if_failed(failed, len(workspaces))


@db_group.command("status")
@CONFIG_OPTION
@WORKSPACE_OPTION
def status_command(config_path: Path, workspace: str | None) -> None:
    """Print each store's schema revision and whether it needs ``segmento db upgrade``.

    A workspace whose store fails, or whose store URL refers to an environment variable
    that is not set, is reported and the others go on.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from segmento.adapters.migrations import head_revision, is_current, store_revision
    from segmento.adapters.sql_store import SqlProfileStore
    from segmento.adapters.urls import create_store_engine, mask_url

    workspaces = _workspaces(config_path, workspace)
    failed: list[str] = []
    head = head_revision()
    for item in workspaces:
        url: str | None = None
        try:
            url = item.store_url
            missing = _missing_sqlite_file(url)
            if missing is not None:
                # Connecting would create an empty file, and a status check must not write.
                click.echo(f"{item.name}: {mask_url(url)}: no store yet ({missing} does not exist), "
                           "'segmento db upgrade' or 'segmento run' creates it")  # fmt: skip
                continue
            engine = create_store_engine(url)
            try:
                store = SqlProfileStore(engine)
                with engine.connect() as connection:
                    revision = store_revision(connection)
                current = is_current(engine, store.model)
            finally:
                engine.dispose()
        except (SegmentoError, SQLAlchemyError) as error:
            failed.append(item.name)
            click.echo(workspace_error(item.name, error, store_error_text(error, url)), err=True)
            continue
        state = "up to date" if current else "needs 'segmento db upgrade'"
        click.echo(f"{item.name}: {mask_url(url)}: revision {revision or 'none'} (newest {head}), {state}")
    exit_if_failed(failed, len(workspaces))


def _missing_sqlite_file(url: str) -> Path | None:
    """Return the path of an SQLite store file that does not exist yet, else ``None``."""
    import sqlalchemy as sa

    parsed = sa.make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    path = Path(parsed.database)
    return None if path.exists() else path


def _summary(change: Any) -> str:
    if not change.changed:
        return f"up to date at revision {change.after}"
    text = f"upgraded from revision {change.before or 'none'} to {change.after}"
    catalog = change.catalog
    if catalog is not None:
        if catalog.added_tables:
            text += "; profile tables added: " + ", ".join(catalog.added_tables)
        if catalog.added_columns:
            text += "; columns added: " + ", ".join(catalog.added_columns)
        if catalog.kept_columns:
            text += "; kept although the catalog no longer has them: " + ", ".join(catalog.kept_columns)
    return text


def _workspaces(config_path: Path, name: str | None) -> list[Any]:
    from segmento.adapters.workspace import load_config, select_workspaces
    from segmento.cli.common import fail

    try:
        return select_workspaces(load_config(config_path), name)
    except SegmentoError as error:
        fail(error)
