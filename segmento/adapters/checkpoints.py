"""Test hook: pause a run at a named point so a test can kill it or its connection there.

Tests of crashes and lost connections need the run to stop at a known point, for
example with the memberships of one segment written but not committed. When
``SEGMENTO_TEST_CHECKPOINT`` names a checkpoint and ``SEGMENTO_TEST_CHECKPOINT_DIR``
names a directory, each time the run reaches that checkpoint it:

1. writes ``<dir>/<name>.reached``, a JSON object with ``pid``, ``hit`` (counting
   from 1), on MySQL and MariaDB the ``connection_id`` of the run's connection, and
   the SQL ``statement`` that passed a checkpoint of ``pause_after_statements``;
2. waits until ``<dir>/<name>.release`` exists, removes both files and goes on.

It waits at most ``SEGMENTO_TEST_CHECKPOINT_TIMEOUT`` seconds (default 120), then
raises ``TimeoutError``. Without the variables a checkpoint does nothing. This is not a
user feature: production configs never set these variables.

``pause_after_statements`` puts a checkpoint inside each statement that a connection
runs, after the driver call returned and before SQLAlchemy returns the result. A signal
sent to a run paused there raises its exception at the same place as a signal that
arrives while the database runs the statement.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Final

import sqlalchemy as sa

logger = logging.getLogger(__name__)

CHECKPOINT_ENV: Final = "SEGMENTO_TEST_CHECKPOINT"
DIRECTORY_ENV: Final = "SEGMENTO_TEST_CHECKPOINT_DIR"
TIMEOUT_ENV: Final = "SEGMENTO_TEST_CHECKPOINT_TIMEOUT"
POLL_SECONDS: Final = 0.02

_hits: dict[str, int] = {}


def checkpoint(name: str, connection: sa.Connection | None = None, *, statement: str | None = None) -> None:
    """Pause here when the test hook names checkpoint ``name``; otherwise return at once.

    ``statement``, the SQL of the statement that passes the checkpoint, if any, is
    written to ``<name>.reached`` too.
    """
    if os.environ.get(CHECKPOINT_ENV) != name or not os.environ.get(DIRECTORY_ENV):
        return
    directory = Path(os.environ[DIRECTORY_ENV])
    _hits[name] = _hits.get(name, 0) + 1
    details = {"pid": os.getpid(), "hit": _hits[name], "connection_id": _connection_id(connection), "statement": statement}
    reached = directory / f"{name}.reached"
    release = directory / f"{name}.release"
    partial = directory / f"{name}.reached.tmp"
    partial.write_text(json.dumps(details), encoding="utf-8")
    partial.replace(reached)
    logger.warning("test checkpoint %s reached (hit %d); waiting for %s", name, _hits[name], release)
    deadline = time.monotonic() + float(os.environ.get(TIMEOUT_ENV, "120"))
    while not release.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"test checkpoint {name} was not released: {release} does not exist")
        time.sleep(POLL_SECONDS)
    release.unlink()
    reached.unlink(missing_ok=True)


def pause_after_statements(name: str, connection: sa.Connection) -> None:
    """Pass checkpoint ``name`` after every later statement on ``connection``, when the test hook names it."""
    if os.environ.get(CHECKPOINT_ENV) != name:
        return

    def pause(_connection: sa.Connection, _cursor: object, statement: str, *_: object) -> None:
        # Without the connection: on MariaDB ``_connection_id`` would run a statement
        # and pass this checkpoint again.
        checkpoint(name, statement=statement)

    sa.event.listen(connection, "after_cursor_execute", pause)


def _connection_id(connection: sa.Connection | None) -> int | None:
    if connection is None or connection.dialect.name not in ("mysql", "mariadb"):
        return None
    return int(connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar_one())
