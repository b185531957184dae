"""Backends of ``segmento match``: the in-memory evaluator, a temporary SQLite store, or a database URL.

Every backend gets the same coerced profiles and the same ``as_of`` instant and returns
the sorted ids of the members, so their outputs can be compared line by line.

A database URL may contain a password. ``secret_masker`` returns a function that replaces
it in any text, and ``masking_logs`` applies that function to every log record, so no
message or log line of the command shows it.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from segmento.engine.ast import Segment
from segmento.engine.errors import DataError, Location, SegmentoError
from segmento.engine.evaluator import compile_predicate
from segmento.engine.registry import Registry

if TYPE_CHECKING:
    from segmento.adapters.sql_store import SqlProfileStore

logger = logging.getLogger(__name__)

MEMORY: Final = "memory"
SQLITE: Final = "sqlite"
SUPPORTED_URL_DIALECTS: Final = ("sqlite", "mysql", "mariadb", "postgresql")

Profile = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class MatchResult:
    """The sorted ids of the members, and how many profiles were read."""

    ids: list[str]
    total: int


class BackendType(click.ParamType):
    """``memory``, ``sqlite``, or a SQLAlchemy database URL such as ``mysql+pymysql://user@host/db``."""

    name = "backend"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        text = str(value).strip()
        if text in (MEMORY, SQLITE):
            return text
        try:
            text = url_from_argument(text)
        except click.BadParameter as error:
            self.fail(error.message, param, ctx)
        mask = secret_masker(text)
        if "://" not in text:
            self.fail(
                f"unknown backend {mask(text)!r}; use memory, sqlite, or a database URL "
                "such as mysql+pymysql://user@127.0.0.1:3306/segmento",
                param,
                ctx,
            )
        import sqlalchemy as sa

        try:
            url = sa.engine.make_url(text)
        except (sa.exc.ArgumentError, ValueError):
            self.fail(
                f"{mask(text)!r} is not a valid database URL; write it as dialect+driver://user@host:port/database",
                param,
                ctx,
            )
        dialect = url.get_backend_name()
        if dialect not in SUPPORTED_URL_DIALECTS:
            self.fail(
                f"database {dialect!r} of {mask(text)!r} is not supported; use one of: {', '.join(SUPPORTED_URL_DIALECTS)}",
                param,
                ctx,
            )
        return text


def url_from_argument(text: str) -> str:
    """Return the database URL that a command-line argument names.

    ``env:NAME`` reads the URL from environment variable ``NAME``. A URL written on the
    command line must not contain a password, in its user part or in a query value such
    as ``?password=``, because shells keep it in their history and other users can read
    it from the process list.
    """
    from segmento.adapters.urls import check_url, has_written_password, missing_variable

    if text.startswith("env:"):
        name = text[len("env:") :]
        state = missing_variable(name, os.environ) if name else "is not named"
        if state is not None:
            raise click.BadParameter(f"environment variable {name!r} {state}; export it with the database URL")
        value = os.environ[name].strip()
        if "://" in value:
            try:
                check_url(value, origin=name)
            except SegmentoError as error:
                raise click.BadParameter(f"{error.message.replace('store URL', 'database URL')}. {error.hint}") from None
        return value
    if "://" in text and has_written_password(text):
        raise click.BadParameter(
            "a database URL with a password must not be written on the command line, "
            "where shell history keeps it; export it in an environment variable and "
            "pass env:NAME instead, for example env:SEGMENTO_DATABASE_URL"
        )
    return text


def secret_masker(url_text: str) -> Callable[[str], str]:
    """Return a function that replaces the secrets of ``url_text``, and any ``user:password@`` part, with ``***`` in any text."""
    from segmento.adapters.urls import redact

    def mask(text: str) -> str:
        return redact(text, [url_text])

    return mask


class _MaskingFilter(logging.Filter):
    def __init__(self, mask: Callable[[str], str]) -> None:
        super().__init__()
        self.mask = mask

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


@contextmanager
def masking_logs(mask: Callable[[str], str]) -> Iterator[None]:
    """Apply ``mask`` to every record that the root logger's handlers write, while the block runs."""
    handlers = logging.getLogger().handlers
    masking = _MaskingFilter(mask)
    for handler in handlers:
        handler.addFilter(masking)
    try:
        yield
    finally:
        for handler in handlers:
            handler.removeFilter(masking)


def match_in_memory(
    segment: Segment, profiles: Iterable[Profile], registry: Registry, as_of: datetime, timezone: str
) -> MatchResult:
    """Evaluate ``segment`` on each profile with the compiled in-memory predicate."""
    predicate = compile_predicate(segment, registry, as_of=as_of, timezone=timezone)
    ids: list[str] = []
    total = 0
    for profile in profiles:
        total += 1
        if predicate(profile):
            ids.append(str(profile["id"]))
    return MatchResult(sorted(ids), total)


def match_in_sqlite(
    segment: Segment, profiles: Iterable[Profile], registry: Registry, as_of: datetime, timezone: str
) -> MatchResult:
    """Load the profiles into a new SQLite file in a temporary directory and run the compiled SQL there."""
    from segmento.adapters.sql_store import SqlProfileStore

    with tempfile.TemporaryDirectory(prefix="segmento-match-") as directory:
        store = SqlProfileStore(f"sqlite:///{Path(directory) / 'profiles.db'}", registry)
        try:
            store.create_profile_tables()
            total = store.write_profiles(profiles)
            ids = store.members(segment, as_of=as_of, timezone=timezone)
        finally:
            store.engine.dispose()
    return MatchResult(ids, total)


def match_in_database(
    url: str, segment: Segment, profiles: Iterable[Profile], registry: Registry, as_of: datetime, timezone: str
) -> MatchResult:
    """Create the profile tables in the database at ``url``, load the profiles, select, then drop the tables.

    The database must not have tables of those names yet, so that no data of its own is
    replaced or dropped. Raises ``DataError`` with the password masked when the database
    cannot be reached or the tables exist.
    """
    import sqlalchemy as sa

    from segmento.adapters.sql_store import SqlProfileStore
    from segmento.adapters.urls import create_engine

    mask = secret_masker(url)
    display_url = mask(sa.engine.make_url(url).render_as_string(hide_password=True))
    try:
        engine = create_engine(url)
    except ImportError as error:
        raise DataError(
            f"the database driver for {display_url} is not installed: {error}",
            location=Location(source=display_url),
            hint="Install the driver, for example: pip install PyMySQL for mysql+pymysql URLs",
            code="driver_missing",
        ) from None
    store = SqlProfileStore(engine, registry)
    created = False
    try:
        existing = sorted(set(sa.inspect(engine).get_table_names()) & {table.name for table in store.model.tables()})
        if existing:
            raise DataError(
                f"the database already has tables named {', '.join(existing)}",
                location=Location(source=display_url),
                hint="Point --backend at an empty database: match creates its tables there and drops them afterwards",
                code="tables_exist",
            )
        created = True
        store.create_profile_tables()
        total = store.write_profiles(profiles)
        ids = store.members(segment, as_of=as_of, timezone=timezone)
    except sa.exc.SQLAlchemyError as error:
        raise _database_error(error, display_url, mask) from None
    finally:
        if created:
            _drop_tables(store, display_url, mask)
        engine.dispose()
    return MatchResult(ids, total)


def _drop_tables(store: SqlProfileStore, display_url: str, mask: Callable[[str], str]) -> None:
    import sqlalchemy as sa

    try:
        store.model.metadata.drop_all(store.engine)
    except sa.exc.SQLAlchemyError as error:
        logger.warning(
            "failed to drop the profile tables on %s, drop them by hand: %s", display_url, mask(str(error))
        )


def _database_error(error: Exception, display_url: str, mask: Callable[[str], str]) -> SegmentoError:
    """Return the error to show for a failed database call: the driver's message, first line only."""
    reason = getattr(error, "orig", None) or error
    lines = str(reason).splitlines()
    text = lines[0] if lines else type(reason).__name__
    return DataError(
        f"database error: {mask(text)}",
        location=Location(source=display_url),
        hint="Check that the server runs, that the URL's user, password and database are right, "
        "and that the user may create tables",
        code="database_error",
    )
