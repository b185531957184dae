"""Retrying run steps after a lost database connection or a lock conflict, and nothing else.

A run is a few steps (record the run, import each file, build profiles, evaluate the
segments), each one transaction or a sequence of idempotent ones. When the
connection drops in the middle of a step, or the database gives up waiting for a
lock, the database rolls the open transaction back, so running the step again from
the start is safe. Errors that would happen again (a bad rule, a missing table, a
value the column cannot hold) are not retried.
"""

from __future__ import annotations

import enum
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, TypeVar

from sqlalchemy.exc import DBAPIError, OperationalError

from segmento.engine.errors import SegmentoError

logger = logging.getLogger(__name__)

T = TypeVar("T")

# MySQL and MariaDB error codes of transient failures that SQLAlchemy does not count
# as a disconnect: a server that refused or dropped the connection while it started
# (2002, 2003) or restarts (1053).
MYSQL_CONNECTION_CODES: Final = frozenset({1053, 2002, 2003})
MYSQL_LOCK_WAIT_TIMEOUT: Final = 1205
MYSQL_DEADLOCK: Final = 1213
MYSQL_TRANSIENT_CODES: Final = MYSQL_CONNECTION_CODES | {MYSQL_LOCK_WAIT_TIMEOUT, MYSQL_DEADLOCK}
# MySQL and MariaDB error codes of a user that lacks a privilege on a database (1044), a
# table (1142) or a column (1143), and of a login the server rejected (1045).
MYSQL_PRIVILEGE_CODES: Final = frozenset({1044, 1142, 1143})
MYSQL_ACCESS_DENIED: Final = 1045
STORE_PRIVILEGES: Final = "SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER and INDEX"
"""The privileges a MySQL or MariaDB store's user needs on the store's database, as docs/storage.md grants them."""

_RETRY_HINT_TAIL: Final = "then run again; the previous segment membership is still in place"


class Failure(enum.Enum):
    """The kind of a transient database failure, which decides how often it is retried and how it is reported."""

    CONNECTION = "connection"
    LOCK_WAIT = "lock wait timeout"
    DEADLOCK = "deadlock"


class RetriesExhaustedError(SegmentoError):
    """A run step failed with a transient database error more often than the retry policy allows."""

    code = "retries_exhausted"


class ConnectionLostError(RetriesExhaustedError):
    """A run step lost its database connection, or could not open one, on every attempt."""

    code = "connection_lost"


class LockConflictError(RetriesExhaustedError):
    """A run step timed out waiting for a lock, or was a deadlock victim, on every attempt."""

    code = "lock_conflict"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a run step is tried again after a transient failure.

    ``attempts`` counts every try, the first included, so 1 turns retrying off. The
    wait before retry ``n`` is ``delay * 2**(n-1)`` seconds, at most ``max_delay``.
    A lock wait timeout is tried at most ``lock_wait_attempts`` times, because the
    database has already waited its own lock timeout (``innodb_lock_wait_timeout``,
    50 s by default on MySQL and MariaDB) before it reports one.
    """

    attempts: int = 4
    delay: float = 1.0
    max_delay: float = 30.0
    lock_wait_attempts: int = 2

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.lock_wait_attempts < 1:
            raise ValueError(f"lock_wait_attempts must be at least 1, got {self.lock_wait_attempts}")
        if self.delay < 0 or self.max_delay < 0:
            raise ValueError("delay and max_delay must not be negative")

    def delays(self) -> Iterator[float]:
        """Yield the wait before each retry."""
        for retry in range(self.attempts - 1):
            yield min(self.delay * 2**retry, self.max_delay)


def is_transient(error: BaseException) -> bool:
    """Return whether ``error``, or an error it was raised ``from``, is a lost connection or a lock conflict."""
    return failure_kind(error) is not None


def failure_kind(error: BaseException) -> Failure | None:
    """Return the kind of transient failure behind ``error`` or an error it was raised ``from``, or ``None``."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError):
            kind = _dbapi_failure_kind(current)
            if kind is not None:
                return kind
        current = current.__cause__
    return None


def run_with_retry(
    step: Callable[[], T],
    *,
    what: str,
    run_id: int | None,
    policy: RetryPolicy,
    redact: Callable[[str], str] = str,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Return ``step()``, calling it again after each transient failure as ``policy`` allows.

    ``what`` completes "could not ..." in messages, for example "evaluate segments".
    Each retry is logged with the run id and the kind of failure. When the last
    attempt fails too, raises ``ConnectionLostError`` or ``LockConflictError`` from the
    last error; any other error passes through at once.
    """
    label = f"run {run_id}" if run_id is not None else "the run"
    delays = policy.delays()
    attempt = 1
    lock_waits = 0
    while True:
        try:
            return step()
        except Exception as error:
            kind = failure_kind(error)
            if kind is None:
                raise
            summary = redact(error_summary(error))
            lock_waits += kind is Failure.LOCK_WAIT
            delay = next(delays, None) if lock_waits < policy.lock_wait_attempts else None
            if delay is None:
                logger.error("%s could not %s after %d attempts: %s", label, what, attempt, summary)
                raise _exhausted(kind, label, what, attempt, summary, run_id) from error
            # A lock wait timeout has its own, smaller budget of attempts, so its log line counts those.
            count, allowed = (lock_waits, policy.lock_wait_attempts) if kind is Failure.LOCK_WAIT else (attempt, policy.attempts)
            logger.warning(
                "%s could not %s, because %s (%s %d of %d): %s; retrying in %g s",
                label,
                what,
                _REASONS[kind],
                kind.value if kind is Failure.LOCK_WAIT else "attempt",
                count,
                allowed,
                summary,
                delay,
            )
            sleep(delay)
            attempt += 1


# The reason for each retry, completing "could not <step>, because ...".
_REASONS: Final = {
    Failure.CONNECTION: "the database connection was lost or refused",
    Failure.LOCK_WAIT: "it timed out waiting for a lock that another transaction holds on the store",
    Failure.DEADLOCK: "the database rolled it back to break a deadlock with another transaction",
}


def _exhausted(kind: Failure, label: str, what: str, attempts: int, summary: str, run_id: int | None) -> RetriesExhaustedError:
    """Return the error that ends a step after ``attempts`` transient failures, the last of kind ``kind``."""
    params = {"run_id": run_id, "step": what, "attempts": attempts, "failure": kind.value}
    if kind is Failure.CONNECTION:
        return ConnectionLostError(
            f"{label} could not {what}: the database connection was lost or refused {attempts} times; "
            f"last error: {summary}",
            hint=f"Check that the database server is running and reachable, {_RETRY_HINT_TAIL}",
            params=params,
        )
    if kind is Failure.LOCK_WAIT:
        return LockConflictError(
            f"{label} could not {what}: timed out waiting for a lock held by another transaction on the store "
            f"({attempts} attempts); last error: {summary}",
            hint="Another segmento run, or another program, holds rows of the store in an open transaction; "
            "for a SQLite store, another process has the file open in a write transaction. "
            "Let that transaction finish or stop its program (on MySQL and MariaDB, "
            "information_schema.INNODB_TRX lists the open transactions and their connection ids), "
            + _RETRY_HINT_TAIL,
            params=params,
        )
    return LockConflictError(
        f"{label} could not {what}: the database rolled it back to break a deadlock with another transaction "
        f"({attempts} attempts); last error: {summary}",
        hint="Another segmento run, or another program, keeps changing the same rows of the store; "
        f"let it finish, {_RETRY_HINT_TAIL}",
        params=params,
    )


def _dbapi_failure_kind(error: DBAPIError) -> Failure | None:
    if error.connection_invalidated:
        return Failure.CONNECTION
    if not isinstance(error, OperationalError):
        return None
    arguments = getattr(error.orig, "args", ())
    code = arguments[0] if arguments and isinstance(arguments[0], int) else None
    if code in MYSQL_CONNECTION_CODES:
        return Failure.CONNECTION
    if code == MYSQL_LOCK_WAIT_TIMEOUT:
        return Failure.LOCK_WAIT
    if code == MYSQL_DEADLOCK:
        return Failure.DEADLOCK
    # SQLite reports this way a writer that keeps the database locked past the busy timeout.
    if "database is locked" in str(error.orig):
        return Failure.LOCK_WAIT
    return None


def error_summary(error: BaseException) -> str:
    """Return the first line of the database error behind ``error``, without the SQL and its parameters.

    A MySQL or MariaDB error of a missing privilege or a rejected login gets a sentence
    on what the store's user needs. The store errors of ``segmento db``, ``profile`` and
    ``segment show`` (through ``cli.common.store_error_text``) and of ``segmento run``'s
    steps reach the user through here.
    """
    current: BaseException | None = error
    while current is not None and not isinstance(current, DBAPIError):
        current = current.__cause__
    text = str(current.orig if current is not None else error)
    summary = text.splitlines()[0] if text else type(error).__name__
    hint = _access_hint(current.orig if current is not None else None)
    return f"{summary}. {hint}" if hint else summary


def _access_hint(driver_error: BaseException | None) -> str | None:
    """Return what to do about a MySQL or MariaDB privilege error or rejected login, else ``None``.

    NOTE: the code cannot tell which database failed. The shop database is also read
    through here during an import. Its connection errors become ``DataError`` first,
    though, and MySQL and MariaDB hide a table its user may not read, so that table is
    reported as not found.
    """
    arguments = getattr(driver_error, "args", ())
    code = arguments[0] if arguments and isinstance(arguments[0], int) else None
    if code in MYSQL_PRIVILEGE_CODES:
        return (
            f"The database user lacks a privilege: a store's user needs {STORE_PRIVILEGES} on the store's database "
            "(docs/storage.md has the GRANT statement)"
        )
    if code == MYSQL_ACCESS_DENIED:
        return (
            "The server rejected the login: check the user name, the password, and that the user may connect "
            f"from this host; a store's user also needs {STORE_PRIVILEGES} on the store's database (docs/storage.md)"
        )
    return None
