"""Roll back an SQLite transaction whose statement was interrupted, instead of leaving it open.

SQLAlchemy 2.0 treats an exit exception raised during a statement, such as the
``KeyboardInterrupt`` of Ctrl-C, as a lost connection. It leaves the cursor open and
closes the DBAPI connection without a rollback. Python's ``sqlite3`` module (3.11)
closes with ``sqlite3_close_v2``, which keeps the database connection, with its open
transaction and write lock, until the last of its prepared statements is finalized.
The interrupted cursor keeps one, and the exception's traceback keeps the cursor. So
until the exception is freed, every other connection, including the one that records
the run as failed and frees the store lock, gets "database is locked".

Python raises the interrupt between bytecodes, when the SQLite call has returned, so
the connection is still usable. ``keep_connection_on_interrupt`` makes SQLAlchemy treat
the interrupt as an ordinary error: it closes the cursor and keeps the connection, and
the transaction's context manager rolls it back before the exception goes further.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import ExceptionContext


def keep_connection_on_interrupt(engine: sa.Engine) -> None:
    """Make an interrupt during a statement on ``engine`` roll back the transaction, if ``engine`` is SQLite.

    On MySQL, MariaDB and PostgreSQL an interrupt may stop the driver in the middle of
    the wire protocol, so invalidating the connection is right there. The server rolls
    the transaction back when the connection closes.
    """
    if engine.dialect.name != "sqlite" or sa.event.contains(engine, "handle_error", _not_a_disconnect):
        return
    sa.event.listen(engine, "handle_error", _not_a_disconnect)


def _not_a_disconnect(context: ExceptionContext) -> None:
    # SQLAlchemy's "exit exceptions" are the exceptions that are not an ``Exception``:
    # ``KeyboardInterrupt``, ``SystemExit`` and ``GeneratorExit``.
    if not isinstance(context.original_exception, Exception):
        context.is_disconnect = False
