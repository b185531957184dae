"""Store URLs: environment variable references, masking for display, connection options.

A workspace names its store with a SQLAlchemy URL. Credentials stay out of the config
file and off the command line by referring to environment variables:

- ``store: ${SEGMENTO_STORE_URL}``: the whole URL comes from the variable;
- ``store: mysql+pymysql://segmento:${SEGMENTO_DB_PASSWORD}@db.internal/shop``: a
  reference inside the user, password, host, database or a query value. The value is
  substituted after the URL is parsed, so a password may contain ``@``, ``:`` or ``/``;
- ``store_env: SEGMENTO_STORE_URL``: the same as the first form.

A config file's URL with references is kept as a ``StoreReference`` and resolved when
the workspace's store is opened, so a variable that only another workspace needs may
be unset.

``mask_url`` and ``redact`` are the only ways segmento shows a URL or a message that
might contain one: the password becomes ``***``. A password that is exactly one
``${NAME}`` reference is a placeholder, not a secret, so it is shown as written: hints
such as ``mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db/shop`` stay readable.
"""

from __future__ import annotations

import re
import sqlite3
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote, quote_plus

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from segmento.engine.errors import UNKNOWN_LOCATION, DataError, Location

MASK: Final = "***"

# The name of an environment variable that a URL or ``store_env`` may refer to.
VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_REFERENCE: Final = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*")
# ``scheme://user:password@`` in free text, for messages that quote a URL that did not parse.
_PASSWORD_IN_TEXT: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>[^@\s]+)(?P<tail>@)")
_MYSQL_FAMILY: Final = frozenset({"mysql", "mariadb"})
# Seconds a new connection keeps retrying the switch to write-ahead logging while another
# connection holds the write lock. The switch itself takes milliseconds.
_WAL_SWITCH_WAIT: Final = 10.0


def resolve_store_url(
    template: str, environ: Mapping[str, str], *, location: Location = UNKNOWN_LOCATION
) -> str:
    """Return ``template`` with its ``${NAME}`` references replaced by values from ``environ``.

    Raises ``DataError`` naming the variable when it is not set, and when the result is
    not a URL; neither message contains the value.
    """
    whole = _WHOLE_REFERENCE.fullmatch(template)
    if whole is not None:
        name = whole.group(1)
        return check_url(_variable(name, environ, location, whole=True), location=location, origin=name)
    if _REFERENCE.search(template) is None:
        return check_url(template, location=location)
    url = _parse(template, location)
    expanded = url.set(
        username=_expand(url.username, environ, location),
        password=_expand(url.password, environ, location),
        host=_expand(url.host, environ, location),
        database=_expand(url.database, environ, location),
        query={key: _expand_query(value, environ, location) for key, value in url.query.items()},
    )
    return expanded.render_as_string(hide_password=False)


@dataclass(frozen=True)
class StoreReference:
    """A store URL with ``${NAME}`` references, as a config file writes it, resolved when the store is opened.

    ``location`` is the URL's config key, for errors. A relative
    ``sqlite:///`` path in the resolved URL is relative to the folder ``base``.
    """

    template: str
    location: Location
    base: Path
    environ: Mapping[str, str] = field(repr=False, compare=False)

    def resolve(self) -> str:
        """Return the URL with each reference replaced by the current value of its variable.

        Raises ``DataError`` at ``location`` when a variable is not set or is empty, or
        when the result is not a URL. The messages name the variable, never its value.
        """
        url = resolve_store_url(self.template, self.environ, location=self.location)
        return anchor_sqlite_path(url, self.base)


def read_store_url(
    text: str, environ: Mapping[str, str], *, location: Location = UNKNOWN_LOCATION, base: Path
) -> str | StoreReference:
    """Check a store URL from a config file and return it, or a ``StoreReference`` when it has references.

    The parts of the URL written around the references must form a valid URL already,
    so a mistake in them is reported when the config is read. The references themselves
    are read only by ``StoreReference.resolve``.
    """
    if _REFERENCE.search(text) is None:
        return anchor_sqlite_path(check_url(text, location=location), base)
    if _WHOLE_REFERENCE.fullmatch(text) is None:
        _parse(text, location)
    return StoreReference(text, location, base, environ)


def anchor_sqlite_path(url: str, base: Path) -> str:
    """Return ``url`` with a relative ``sqlite:///`` file path made relative to the folder ``base``."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://" and ":memory:" not in url:
        return prefix + str(base / url[len(prefix) :])
    return url


def has_written_password(text: str) -> bool:
    """Return whether the URL ``text`` contains a password written out, not only ``${NAME}`` references."""
    if _WHOLE_REFERENCE.fullmatch(text) is not None:
        return False
    password = _password(text)
    return bool(password) and bool(_REFERENCE.sub("", password or ""))


def with_password_reference(text: str, variable: str) -> str:
    """Return the URL ``text`` for display, with its password replaced by a ``${variable}`` reference."""
    try:
        return mask_url(sa.make_url(text).set(password=f"${{{variable}}}"))
    except (ArgumentError, ValueError):
        return mask_url(text)


def check_url(text: str, *, location: Location = UNKNOWN_LOCATION, origin: str | None = None) -> str:
    """Return ``text`` when it parses as a SQLAlchemy URL; raise a ``DataError`` that masks it otherwise."""
    _parse(text, location, origin)
    return text


def mask_url(url: str | sa.URL) -> str:
    """Return ``url`` for display, with the password replaced by ``***`` unless it is a ``${NAME}`` placeholder."""
    try:
        parsed = url if isinstance(url, sa.URL) else sa.make_url(url)
    except (ArgumentError, ValueError):
        return _mask_in_text(str(url))
    password = parsed.password
    if not _is_placeholder(password):
        return parsed.render_as_string(hide_password=True)
    # Rendering would percent-encode "${...}", so a plain marker takes its place first.
    marker = "SEGMENTOPASSWORDPLACEHOLDER"
    return parsed.set(password=marker).render_as_string(hide_password=False).replace(marker, str(password), 1)


def redact(text: str, urls: Iterable[str | sa.URL | None] = ()) -> str:
    """Return ``text`` with the passwords of ``urls``, and any ``user:password@`` part, masked.

    Driver messages may quote the URL they were given, so runs and ``segmento db`` pass
    their error texts through this before logging, printing or reporting them.
    """
    for url in urls:
        password = _password(url)
        if not password or _is_placeholder(password):
            continue
        for form in {password, quote(password, safe=""), quote_plus(password, safe="")}:
            text = text.replace(form, MASK)
    return _mask_in_text(text)


def connection_url(url: str | sa.URL) -> sa.URL:
    """Return ``url`` with the options segmento relies on: ``charset=utf8mb4`` on MySQL and MariaDB.

    PyMySQL already defaults to utf8mb4, but other MySQL drivers use the server's
    default character set, which may be a 3-byte ``utf8`` or ``latin1``.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() in _MYSQL_FAMILY and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    return parsed


def _mask_in_text(text: str) -> str:
    """Mask the password of every ``scheme://user:password@`` in ``text``, except ``${NAME}`` placeholders."""
    return _PASSWORD_IN_TEXT.sub(
        lambda match: match[0] if _is_placeholder(match["password"]) else match["head"] + MASK + match["tail"], text
    )


def _is_placeholder(password: Any) -> bool:
    return isinstance(password, str) and _REFERENCE.fullmatch(password) is not None


def _variable(name: str, environ: Mapping[str, str], location: Location, *, whole: bool = False) -> str:
    value = environ.get(name)
    if value is None or not value.strip():
        state = "is not set" if value is None else "is empty"
        if whole:
            hint = f"Export {name} with the whole store URL, in which a password is percent-encoded"
        else:
            hint = (
                f"Export {name} with the store URL or the part of it that the config refers to; "
                f"for a server that needs no password, remove ${{{name}}} from the URL instead"
            )
        raise DataError(
            f"environment variable {name} {state}",
            location=location,
            value=name,
            hint=hint,
            code="config_env_missing",
        )
    return value


def _expand(value: str | None, environ: Mapping[str, str], location: Location) -> str | None:
    if value is None:
        return None
    return _REFERENCE.sub(lambda match: _variable(match.group(1), environ, location), value)


def _expand_query(value: str | tuple[str, ...], environ: Mapping[str, str], location: Location) -> str | tuple[str, ...]:
    if isinstance(value, tuple):
        return tuple(_expand(item, environ, location) or "" for item in value)
    return _expand(value, environ, location) or ""


def _parse(text: str, location: Location, origin: str | None = None) -> sa.URL:
    where = f" (from environment variable {origin})" if origin else ""
    try:
        url = sa.make_url(text)
    except (ArgumentError, ValueError):
        raise DataError(
            f"store URL {mask_url(text)}{where} is not a valid database URL",
            location=location,
            hint="Write it as dialect+driver://user:password@host:port/database, for example "
            "mysql+pymysql://segmento:${SEGMENTO_DB_PASSWORD}@127.0.0.1:3306/shop",
            code="config_url",
        ) from None
    try:
        url.get_dialect()
    except NoSuchModuleError:
        raise DataError(
            f"store URL {mask_url(url)}{where} names an unknown database dialect {url.drivername!r}",
            location=location,
            value=url.drivername,
            hint="Use sqlite:///PATH, mysql+pymysql://..., or postgresql+psycopg://...; "
            "install the driver with the mysql or postgresql extra",
            code="config_url",
        ) from None
    return url


def _password(url: str | sa.URL | None) -> str | None:
    if url is None:
        return None
    if isinstance(url, sa.URL):
        return url.password if isinstance(url.password, str) else None
    try:
        password = sa.make_url(url).password
    except (ArgumentError, ValueError):
        match = _PASSWORD_IN_TEXT.search(url)
        return match["password"] if match else None
    return password if isinstance(password, str) else None


def create_store_engine(url: str | sa.URL) -> sa.Engine:
    """Return an engine for the store at ``url``, with the options of ``connection_url``.

    SQLite files get write-ahead logging; their directory is created when missing.
    Server databases check a pooled connection before handing it out, so a connection
    the server closed while it was idle is replaced instead of failing the next step.
    """
    parsed = connection_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(parsed)
        sa.event.listen(engine, "connect", _tune_sqlite)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=3600)


def _tune_sqlite(connection: Any, record: Any) -> None:
    # SQLite's default rollback journal and 2 MB page cache make a large import wait on
    # the disk. Write-ahead logging with NORMAL sync keeps committed data after a crash,
    # and lets readers, such as a run waiting for the lock, read while another run writes.
    cursor = connection.cursor()
    _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


def _switch_to_wal(cursor: Any) -> None:
    """Put the database file in write-ahead logging mode, retrying while another connection writes it.

    Switching a rollback-journal file needs an exclusive lock. When another connection
    holds the write lock, as a second process opening a new store during the first one's
    switch does, SQLite 3 returns SQLITE_BUSY at once without calling the busy handler,
    so the busy timeout does not help here.
    """
    delay = 0.01
    deadline = time.monotonic() + _WAL_SWITCH_WAIT
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "database is locked" not in str(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.25)
