"""Retrying run steps after a lost database connection, and nothing else.

A run is a few steps (record the run, import each file, build profiles, evaluate the
segments), each one transaction or a sequence of idempotent ones. When the
connection drops in the middle of a step, the database rolls the open transaction
back, so running the step again from the start is safe. Errors that would happen
again (a bad rule, a missing table, a value the column cannot hold) are not retried.
"""

from __future__ import annotations

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
# as a disconnect: lock wait timeout (1205), deadlock (1213), and a server that
# refused or dropped the connection while it started (2002, 2003) or restarts (1053).
MYSQL_TRANSIENT_CODES: Final = frozenset({1053, 1205, 1213, 2002, 2003})


class ConnectionLostError(SegmentoError):
    """A run step lost its database connection more often than the retry policy allows."""

    code = "connection_lost"


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a run step is tried again after a lost connection.

    ``attempts`` counts every try, the first included, so 1 turns retrying off. The
    wait before retry ``n`` is ``delay * 2**(n-1)`` seconds, at most ``max_delay``.
    """

    attempts: int = 4
    delay: float = 1.0
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"attempts must be at least 1, got {self.attempts}")
        if self.delay < 0 or self.max_delay < 0:
            raise ValueError("delay and max_delay must not be negative")

    def delays(self) -> Iterator[float]:
        """Yield the wait before each retry."""
        for retry in range(self.attempts - 1):
            yield min(self.delay * 2**retry, self.max_delay)


def is_transient(error: BaseException) -> bool:
    """Return whether ``error``, or an error it was raised ``from``, is a lost connection or another transient failure."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, DBAPIError) and _is_transient_dbapi(current):
            return True
        current = current.__cause__
    return False


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
    Each retry is logged with the run id. When the last attempt fails too, raises
    ``ConnectionLostError`` from the last error; any other error passes through at once.
    """
    label = f"run {run_id}" if run_id is not None else "the run"
    delays = policy.delays()
    attempt = 1
    while True:
        try:
            return step()
        except Exception as error:
            if not is_transient(error):
                raise
            summary = redact(error_summary(error))
            delay = next(delays, None)
            if delay is None:
                logger.error("%s could not %s after %d attempts: %s", label, what, attempt, summary)
                raise ConnectionLostError(
                    f"{label} could not {what}: the database connection was lost or refused {attempt} times; "
                    f"last error: {summary}",
                    hint="Check that the database server is running and reachable, then run again; "
                    "the previous segment membership is still in place",
                    params={"run_id": run_id, "step": what, "attempts": attempt},
                ) from error
            logger.warning(
                "%s could not %s, because the database connection was lost or refused (attempt %d of %d): %s; "
                "retrying in %g s",
                label,
                what,
                attempt,
                policy.attempts,
                summary,
                delay,
            )
            sleep(delay)
            attempt += 1


def _is_transient_dbapi(error: DBAPIError) -> bool:
    if error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError):
        return False
    arguments = getattr(error.orig, "args", ())
    if arguments and isinstance(arguments[0], int) and arguments[0] in MYSQL_TRANSIENT_CODES:
        return True
    # SQLite reports this way a writer that keeps the database locked past the busy timeout.
    return "database is locked" in str(error.orig)


def error_summary(error: BaseException) -> str:
    """Return the first line of the database error behind ``error``, without the SQL and its parameters."""
    current: BaseException | None = error
    while current is not None and not isinstance(current, DBAPIError):
        current = current.__cause__
    text = str(current.orig if current is not None else error)
    return text.splitlines()[0] if text else type(error).__name__
