"""Plugin that registers the SQL target: its compiler and the SQL implementations of the built-in operators.

This module does not import SQLAlchemy, because the registry imports the compiler
class and requests the implementations only when a rule is first compiled for SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from segmento.engine.hookspecs import hookimpl
from segmento.engine.targets import TargetSpec

TARGET: Final = "sql"

SQL_TARGET: Final = TargetSpec(
    name=TARGET,
    compiler="segmento.plugins.sql.compiler:SqlCompiler",
    # The names of dialects.DIALECT_NAMES, repeated because that module imports SQLAlchemy.
    dialects=("sqlite", "mysql", "mariadb", "postgresql"),
    description="SQL through SQLAlchemy Core, for SQLite, MySQL, MariaDB and PostgreSQL",
)


@hookimpl
def segmento_compilers() -> Sequence[TargetSpec]:
    return (SQL_TARGET,)


@hookimpl
def segmento_operator_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    if target != TARGET:
        return None
    from segmento.plugins.sql.operators import SCALAR_OPERATORS

    return SCALAR_OPERATORS
