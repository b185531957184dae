"""The SQL target: relational profile model, rule compiler and operator implementations.

The names below are loaded on first use, so that the registry can import
``segmento.plugins.sql.plugin`` without importing SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from segmento.plugins.sql.compiler import (
        RenderedQuery,
        SqlCompiler,
        compile_segment,
        compile_to_text,
        render_query,
    )
    from segmento.plugins.sql.context import SqlContext, SqlOperator
    from segmento.plugins.sql.model import CollectionTable, ProfileModel

_EXPORTS: Final[dict[str, str]] = {
    "RenderedQuery": "segmento.plugins.sql.compiler",
    "SqlCompiler": "segmento.plugins.sql.compiler",
    "compile_segment": "segmento.plugins.sql.compiler",
    "compile_to_text": "segmento.plugins.sql.compiler",
    "render_query": "segmento.plugins.sql.compiler",
    "SqlContext": "segmento.plugins.sql.context",
    "SqlOperator": "segmento.plugins.sql.context",
    "CollectionTable": "segmento.plugins.sql.model",
    "ProfileModel": "segmento.plugins.sql.model",
}

# Written out, not computed from _EXPORTS, so that linters and type checkers see the names.
__all__ = [
    "CollectionTable",
    "ProfileModel",
    "RenderedQuery",
    "SqlCompiler",
    "SqlContext",
    "SqlOperator",
    "compile_segment",
    "compile_to_text",
    "render_query",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
