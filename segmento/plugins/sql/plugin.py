"""Plugin that registers the SQL implementations of the built-in operators.

This module does not import SQLAlchemy at import time, because the registry requests
a target's implementations only when a rule is first compiled for it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from segmento.engine.hookspecs import hookimpl

TARGET = "sql"


@hookimpl
def segmento_operator_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    if target != TARGET:
        return None
    from segmento.plugins.sql.operators import SCALAR_OPERATORS

    return SCALAR_OPERATORS
