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
might contain one: the password, and the value of each query key in ``SECRET_QUERY_KEYS``,
becomes ``***``. A secret that is exactly one ``${NAME}`` reference is a placeholder,
not a secret, so it is shown as written: hints such as
``mysql+pymysql://reader:${SHOP_DB_PASSWORD}@db/shop`` stay readable.
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

from segmento.adapters.sqlite_interrupts import keep_connection_on_interrupt
from segmento.engine.errors import UNKNOWN_LOCATION, DataError, Location

MASK: Final = "***"

# The name of an environment variable that a URL or ``store_env`` may refer to.
VARIABLE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_REFERENCE: Final = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
_WHOLE_REFERENCE: Final = re.compile(r"\s*\$\{([A-Za-z_][A-Za-z0-9_]*)\}\s*")
# Query keys whose values are secrets, compared in lower case. PyMySQL, mysqlclient,
# MySQL Connector, psycopg and pg8000 accept a password as ``password``, and the MySQL
# drivers also as ``passwd``. MySQL Connector takes multi-factor passwords as
# ``password1`` to ``password3``. PyMySQL's ``ssl_key_password`` and libpq's
# ``sslpassword`` hold the passphrase of a client key, ODBC's ``pwd`` a password, and
# pyodbc's ``odbc_connect`` a whole connection string that may hold ``PWD=``.
SECRET_QUERY_KEYS: Final = frozenset(
    {"password", "passwd", "pwd", "password1", "password2", "password3", "ssl_key_password", "sslpassword", "odbc_connect"}
)
# ``scheme://user:password@`` in free text, for messages that quote a URL that did not parse.
# The password runs to the last ``@`` before a space, because an unencoded ``@`` in it
# would otherwise leave the rest of it in view.
_PASSWORD_IN_TEXT: Final = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*:)(?P<password>\S+)(?P<tail>@)")
# ``?password=value`` or ``&password=value`` in free text, for the keys of ``SECRET_QUERY_KEYS``.
_SECRET_QUERY_IN_TEXT: Final = re.compile(
    r"(?P<head>[?&](?:" + "|".join(sorted(SECRET_QUERY_KEYS)) + r")=)(?P<password>[^&#\s'\"]+)", re.IGNORECASE
)
# Secrets shorter than this are masked only where they stand alone, not inside a word; see ``redact``.
_SHORT_SECRET: Final = 4
_MYSQL_FAMILY: Final = frozenset({"mysql", "mariadb"})
UNENCODED_AT_CODE: Final = "url_unencoded_at"
UNENCODED_AT_HINT: Final = (
    "A password or user name that contains @ must have it percent-encoded as %40 "
    "(and : / ? # % as %3A %2F %3F %23 %25), for example in Python urllib.parse.quote(password, safe='')"
)
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
    """Return whether the URL ``text`` contains a secret written out, not only ``${NAME}`` references.

    The secrets are the password and the values of the query keys in ``SECRET_QUERY_KEYS``.
    """
    if _WHOLE_REFERENCE.fullmatch(text) is not None:
        return False
    return any(_REFERENCE.sub("", secret) for secret in _secrets(text))


def with_password_reference(text: str, variable: str) -> str:
    """Return the URL ``text`` for display, with its password replaced by a ``${variable}`` reference.

    A password given as a secret query value moves into the user part, so the URL keeps one.
    """
    try:
        parsed = sa.make_url(text)
        secret_keys = [key for key in parsed.query if key.lower() in SECRET_QUERY_KEYS]
        return mask_url(parsed.difference_update_query(secret_keys).set(password=f"${{{variable}}}"))
    except (ArgumentError, ValueError):
        return mask_url(text)


def check_url(text: str, *, location: Location = UNKNOWN_LOCATION, origin: str | None = None) -> str:
    """Return ``text`` when it parses as a SQLAlchemy URL; raise a ``DataError`` that masks it otherwise."""
    _parse(text, location, origin)
    return text


def mask_url(url: str | sa.URL) -> str:
    """Return ``url`` for display, with its secrets replaced by ``***`` unless they are ``${NAME}`` placeholders.

    The secrets are the password and the values of the query keys in ``SECRET_QUERY_KEYS``.
    """
    try:
        parsed = url if isinstance(url, sa.URL) else sa.make_url(url)
    except (ArgumentError, ValueError):
        return _mask_in_text(str(url))
    if parsed.host is not None and "@" in parsed.host:
        # An unencoded "@" ended the password early, so its rest is in the host name.
        return _mask_in_text(url if isinstance(url, str) else url.render_as_string(hide_password=False))
    # Rendering percent-encodes "${...}" and "***", so plain markers take their places first.
    shown: dict[str, str] = {}

    def marker(secret: Any) -> str:
        text = f"SEGMENTOSECRET{len(shown)}X"
        shown[text] = secret if _is_placeholder(secret) else MASK
        return text

    if parsed.password is not None:
        parsed = parsed.set(password=marker(parsed.password))
    secret_query = {
        key: tuple(marker(item) for item in value) if isinstance(value, tuple) else marker(value)
        for key, value in parsed.query.items()
        if key.lower() in SECRET_QUERY_KEYS
    }
    if secret_query:
        parsed = parsed.update_query_dict(secret_query)
    text = parsed.render_as_string(hide_password=False)
    for text_marker, display in shown.items():
        text = text.replace(text_marker, display)
    return text


def redact(text: str, urls: Iterable[str | sa.URL | None] = ()) -> str:
    """Return ``text`` with the secrets of ``urls``, any ``user:password@`` part and secret query values masked.

    Driver messages may quote the URL they were given, so runs and ``segmento db`` pass
    their error texts through this before logging, printing or reporting them. Each
    secret is masked as written and percent-encoded.
    """
    for url in urls:
        for secret in _secrets(url):
            if _is_placeholder(secret):
                continue
            for form in sorted({secret, quote(secret, safe=""), quote_plus(secret, safe="")}, key=len, reverse=True):
                text = _mask_secret(text, form)
    return _mask_in_text(text)


def _mask_secret(text: str, secret: str) -> str:
    """Return ``text`` with each occurrence of ``secret`` replaced by ``***``.

    A secret of 1 to 3 characters is masked only where no letter or digit touches it.
    Masking it inside words garbled messages ("MySQL ***rver" for the password "se")
    and revealed the password to a reader through the pattern of masks, while a password that
    short can be guessed in a few thousand tries anyway. The password in a
    ``user:password@`` part is masked by ``_mask_in_text`` whatever its length.
    """
    if len(secret) >= _SHORT_SECRET:
        return text.replace(secret, MASK)
    return re.sub(rf"(?<![^\W_]){re.escape(secret)}(?![^\W_])", MASK, text)


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
    """Mask every ``scheme://user:password@`` password and secret query value in ``text``, except ``${NAME}`` placeholders."""

    def mask(match: re.Match[str]) -> str:
        if _is_placeholder(match["password"]):
            return match[0]
        return match["head"] + MASK + (match.groupdict().get("tail") or "")

    return _SECRET_QUERY_IN_TEXT.sub(mask, _PASSWORD_IN_TEXT.sub(mask, text))


def _is_placeholder(password: Any) -> bool:
    return isinstance(password, str) and _REFERENCE.fullmatch(password) is not None


def missing_variable(name: str, environ: Mapping[str, str]) -> str | None:
    """Return "is not set" or "is empty" when the variable ``name`` has no usable value in ``environ``, else ``None``.

    A value of only white space counts as empty. Messages write it after
    "environment variable NAME", so store and shop database URLs report both cases alike.
    """
    value = environ.get(name)
    if value is None:
        return "is not set"
    return "is empty" if not value.strip() else None


def _variable(name: str, environ: Mapping[str, str], location: Location, *, whole: bool = False) -> str:
    state = missing_variable(name, environ)
    if state is not None:
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
    return environ[name]


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
        url = None
    # SQLAlchemy ends the password at the first "@", so with an unencoded "@" in the
    # password the rest of it becomes the host, port or database, and the URL may still parse.
    if _unencoded_at(text):
        raise DataError(
            f"store URL {_mask_credentials(text)}{where} has more than one @ before its host name",
            location=location,
            value=origin,
            hint=UNENCODED_AT_HINT,
            code=UNENCODED_AT_CODE,
        )
    if url is None:
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


def _secrets(url: str | sa.URL | None) -> list[str]:
    """Return the non-empty secrets of ``url``: its password and the values of its secret query keys."""
    if url is None:
        return []
    try:
        parsed = url if isinstance(url, sa.URL) else sa.make_url(url)
    except (ArgumentError, ValueError):
        found = [match["password"] for match in _PASSWORD_IN_TEXT.finditer(str(url))]
        return found + [match["password"] for match in _SECRET_QUERY_IN_TEXT.finditer(str(url))]
    secrets = [parsed.password] if isinstance(parsed.password, str) else []
    if secrets and parsed.host is not None and "@" in parsed.host:
        # An unencoded "@" ended the password early: the whole password runs to the host's last "@".
        secrets.insert(0, f"{parsed.password}@{parsed.host.rpartition('@')[0]}")
    for key, value in parsed.query.items():
        if key.lower() in SECRET_QUERY_KEYS:
            secrets.extend(value if isinstance(value, tuple) else [value])
    return [secret for secret in secrets if secret]


def _unencoded_at(text: str) -> bool:
    """Return whether URL ``text`` has more than one ``@`` before its query string.

    Only the ``@`` that ends the user and password may stand there unencoded.
    NOTE: a password holding an unencoded ``?`` before its ``@`` escapes this check.
    """
    _, separator, rest = text.partition("://")
    return bool(separator) and rest.partition("?")[0].count("@") > 1


def _mask_credentials(text: str) -> str:
    """Return URL ``text`` with everything between ``://`` and its last ``@`` before the query replaced, but the user."""
    scheme, separator, rest = text.partition("://")
    authority, question, query = rest.partition("?")
    credentials, at, tail = authority.rpartition("@")
    if not separator or not at:
        return mask_url(text)
    user = credentials.partition(":")[0].partition("@")[0]
    return f"{scheme}://{user}:{MASK}@{tail}{question}{query}"


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


def create_engine(url: str | sa.URL, **options: Any) -> sa.Engine:
    """Return ``sqlalchemy.create_engine(url, **options)``, sending a MySQL password as UTF-8.

    PyMySQL 1.2 encodes a ``str`` password as Latin-1, so a password with a Vietnamese
    letter fails to encode, and one with a Latin-1 letter such as "ä" reaches the server
    as other bytes than the ``mysql`` client sends. Every engine segmento opens on a
    shop or store database comes from here.
    """
    engine = sa.create_engine(url, **options)
    if engine.dialect.name in _MYSQL_FAMILY and engine.dialect.driver == "pymysql":
        sa.event.listen(engine, "do_connect", _password_as_utf8)
    return engine


def _password_as_utf8(dialect: Any, record: Any, arguments: Any, parameters: dict[str, Any]) -> None:
    password = parameters.get("password")
    if isinstance(password, str):
        parameters["password"] = password.encode("utf-8")


def create_store_engine(url: str | sa.URL) -> sa.Engine:
    """Return an engine for the store at ``url``, with the options of ``connection_url``.

    SQLite files get write-ahead logging, and their directory is created when missing.
    On SQLite, Ctrl-C during a statement rolls its transaction back (``sqlite_interrupts``).
    Server databases check a pooled connection before handing it out, so a connection
    the server closed while it was idle is replaced instead of failing the next step.
    """
    parsed = connection_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:" and not parsed.database.startswith("file:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed)
        sa.event.listen(engine, "connect", _tune_sqlite)
        keep_connection_on_interrupt(engine)
        return engine
    return create_engine(parsed, pool_pre_ping=True, pool_recycle=3600)


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
