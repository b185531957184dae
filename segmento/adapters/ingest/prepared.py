"""Rows turned into what the database driver sends, ahead of time and in another thread.

With PyMySQL, turning row mappings into what the driver sends takes about as much
Python time as parsing the file (measured on the Online Retail file), because PyMySQL
renders every value as an SQL literal in Python. An ``InsertPlan`` is made for one
table on the writing connection. Its ``prepare`` runs in the thread that parses the file, while the
connection waits for the database. Its ``insert`` then sends the prepared rows that the
loader keeps.

- With PyMySQL, ``prepare`` returns each row's ``VALUES`` tuple as escaped by the
  connection's ``cursor.mogrify``, the same text that PyMySQL's ``executemany`` sends.
  ``insert`` joins the tuples into multi-row ``INSERT`` statements of at most
  ``MAX_STATEMENT_BYTES``, as ``executemany`` does.
- With other drivers, ``prepare`` returns parameter tuples, and ``insert`` passes them
  to the driver's ``executemany``.

The text before ``VALUES`` always comes from SQLAlchemy's compiler.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import Connection, Table

from segmento.adapters.ingest.bulk import InsertShape, insert_shape

MAX_STATEMENT_BYTES: Final = 1_024_000
"""Largest multi-row ``INSERT`` sent to MySQL or MariaDB: the limit of PyMySQL's ``executemany``.

It is far below the servers' default ``max_allowed_packet`` (16 MiB on MariaDB 10.11,
64 MiB on MySQL 8).
"""


@dataclass(frozen=True, slots=True)
class Literal:
    """A row's ``VALUES`` tuple as SQL text, with ``%`` doubled, and its length in bytes."""

    text: str
    size: int


class InsertPlan:
    """Inserts into ``table`` on one connection, with rows prepared beforehand by ``prepare``.

    Make the plan, call ``insert`` and ``close`` on the thread that owns the connection.
    ``prepare`` only reads the connection's escaping settings, so another thread may
    call it while the connection runs statements.
    """

    def __init__(self, connection: Connection, table: Table) -> None:
        self.table = table
        self._shape: InsertShape = insert_shape(connection, table)
        self._cursor: Any = None
        if connection.dialect.driver == "pymysql":
            prefix, separator, template = self._shape.compiled.string.rpartition(" VALUES ")
            self._prefix = prefix + separator
            self._template = template
            self._cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]

    def prepare(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Return ``rows`` (mappings by column name; a missing key is NULL) in the form ``insert`` takes."""
        parameters = self._shape.parameters(rows)
        if self._cursor is None:
            return parameters
        mogrify = self._cursor.mogrify
        template = self._template
        literals: list[Any] = []
        for values in parameters:
            # ``insert`` passes an empty mapping, so PyMySQL %-formats the statement once
            # more and the doubled signs come out single.
            text = mogrify(template, values).replace("%", "%%")
            literals.append(Literal(text, len(text) if text.isascii() else len(text.encode("utf-8"))))
        return literals

    def insert(self, connection: Connection, prepared: Sequence[Any]) -> None:
        """Insert rows returned by ``prepare``."""
        if not prepared:
            return
        if self._cursor is None:
            connection.exec_driver_sql(self._shape.compiled.string, list(prepared))
            return
        for statement in self._statements(prepared):
            connection.exec_driver_sql(statement, {})

    def close(self) -> None:
        if self._cursor is not None:
            self._cursor.close()

    def _statements(self, literals: Sequence[Literal]) -> Iterator[str]:
        limit = MAX_STATEMENT_BYTES - len(self._prefix)
        chunk: list[str] = []
        size = 0
        for literal in literals:
            if chunk and size + literal.size + 1 > limit:
                yield self._prefix + ",".join(chunk)
                chunk = []
                size = 0
            chunk.append(literal.text)
            size += literal.size + 1
        if chunk:
            yield self._prefix + ",".join(chunk)
