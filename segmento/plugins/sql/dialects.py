"""Differences between the supported SQL databases, one small table entry per quirk.

The compiler builds one SQLAlchemy expression for every database. The functions below
render it with each database's own spelling when the statement is compiled.
Tested with SQLite 3.40, MariaDB 10.11 and PostgreSQL 15.
NOTE: MySQL 8 has its own collation entry (``types.exact_collation``) but no test runs on it.
"""

from __future__ import annotations

from typing import Any, Final, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.dialects.mysql.mariadb import MariaDBDialect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import CompileError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from segmento.engine.errors import UnsupportedError

DialectName = Literal["sqlite", "mysql", "mariadb", "postgresql"]
DIALECT_NAMES: Final[tuple[DialectName, ...]] = ("sqlite", "mysql", "mariadb", "postgresql")

# Position of the first occurrence of a substring, counting from 1, 0 when absent and
# 1 for the empty string. LIKE is not used for substring tests: SQLite's LIKE ignores
# ASCII case, MySQL's follows the collation, and every LIKE needs its value escaped.
POSITION_FUNCTION: Final[dict[str, str]] = {
    "sqlite": "instr",
    # MySQL/MariaDB INSTR compares under the column's collation, which is binary here.
    "mysql": "instr",
    "mariadb": "instr",
    "postgresql": "strpos",
}

# Length in characters. MySQL's LENGTH counts bytes; CHAR_LENGTH counts characters.
# SQLite's length() counts characters of a TEXT value.
CHAR_LENGTH_FUNCTION: Final[dict[str, str]] = {
    "sqlite": "length",
    "mysql": "char_length",
    "mariadb": "char_length",
    "postgresql": "char_length",
}

_RENDERING_DIALECTS: Final[dict[str, type[Dialect]]] = {
    "sqlite": sqlite.dialect,
    "mysql": mysql.dialect,
    "mariadb": MariaDBDialect,
    "postgresql": postgresql.dialect,
}


def dialect_name(name: str) -> DialectName:
    """Return the supported dialect called ``name`` (as in a URL: ``mysql+pymysql`` is ``mysql``)."""
    base = name.split("+", 1)[0].lower()
    if base == "postgres":
        base = "postgresql"
    for known in DIALECT_NAMES:
        if base == known:
            return known
    raise UnsupportedError(
        f"SQL dialect {name!r} is not supported",
        value=name,
        hint="Use one of: " + ", ".join(DIALECT_NAMES),
        params={"target": "sql", "dialect": name},
    )


def rendering_dialect(name: str) -> Dialect:
    """Return a SQLAlchemy dialect that renders SQL for ``name`` with ``:name`` placeholders."""
    return _RENDERING_DIALECTS[dialect_name(name)](paramstyle="named")


class position(FunctionElement[int]):
    """``position(haystack, needle)``: 1-based index of ``needle`` in ``haystack``, 0 when absent."""

    type = sa.Integer()
    name = "position"
    inherit_cache = True


class char_length(FunctionElement[int]):
    """``char_length(text)``: length of ``text`` in characters (code points)."""

    type = sa.Integer()
    name = "char_length"
    inherit_cache = True


def _function_for(
    table: dict[str, str], element: FunctionElement[Any], compiler: SQLCompiler, **kwargs: Any
) -> str:
    name = table.get(compiler.dialect.name)
    if name is None:
        raise CompileError(
            f"{element.name}() has no spelling for dialect {compiler.dialect.name!r}; "
            f"supported: {', '.join(sorted(table))}"
        )
    return f"{name}({compiler.process(element.clauses, **kwargs)})"


@compiles(position)
def _compile_position(element: position, compiler: SQLCompiler, **kwargs: Any) -> str:
    return _function_for(POSITION_FUNCTION, element, compiler, **kwargs)


@compiles(char_length)
def _compile_char_length(element: char_length, compiler: SQLCompiler, **kwargs: Any) -> str:
    return _function_for(CHAR_LENGTH_FUNCTION, element, compiler, **kwargs)


class plus_seconds(FunctionElement[Any]):
    """``plus_seconds(instant, seconds)``: a UTC instant column moved later by a whole number of seconds."""

    name = "plus_seconds"
    inherit_cache = True


@compiles(plus_seconds, "sqlite")
def _compile_plus_seconds_sqlite(element: plus_seconds, compiler: SQLCompiler, **kwargs: Any) -> str:
    # SQLite stores instants as text 'YYYY-MM-DD HH:MM:SS.ffffff'. strftime('%f') keeps
    # only milliseconds, so the whole seconds are shifted and the stored fraction (from
    # character 20 on) is appended again, giving text in the stored form that compares
    # correctly with the column.
    instant, seconds = list(element.clauses)
    moved = sa.func.strftime("%Y-%m-%d %H:%M:%S", instant, sa.literal("+") + sa.cast(seconds, sa.Text) + " seconds")
    return compiler.process(moved.op("||")(sa.func.substr(instant, 20)), **kwargs)


@compiles(plus_seconds, "mysql")
@compiles(plus_seconds, "mariadb")
def _compile_plus_seconds_mysql(element: plus_seconds, compiler: SQLCompiler, **kwargs: Any) -> str:
    # MySQL and MariaDB add an interval with DATE_ADD; on DATETIME(6) it keeps the microseconds.
    instant, seconds = list(element.clauses)
    return f"DATE_ADD({compiler.process(instant, **kwargs)}, INTERVAL {compiler.process(seconds, **kwargs)} SECOND)"


@compiles(plus_seconds, "postgresql")
def _compile_plus_seconds_postgresql(element: plus_seconds, compiler: SQLCompiler, **kwargs: Any) -> str:
    # PostgreSQL multiplies an interval by a number; make_interval would need a float for seconds.
    instant, seconds = list(element.clauses)
    return f"({compiler.process(instant, **kwargs)} + {compiler.process(seconds, **kwargs)} * INTERVAL '1 second')"


@compiles(plus_seconds)
def _compile_plus_seconds_other(element: plus_seconds, compiler: SQLCompiler, **kwargs: Any) -> str:
    raise CompileError(
        f"plus_seconds() has no spelling for dialect {compiler.dialect.name!r}; "
        "supported: mariadb, mysql, postgresql, sqlite"
    )
