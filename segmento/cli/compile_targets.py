"""The targets ``segmento compile`` can print, and how each one's query is shown.

``sql`` is built in. A target that a plugin registers through ``segmento_compilers``
is printable when its compiler class derives from ``engine.compiler.Compiler``, whose
constructor every such target shares. Its result is printed as JSON when it is a
mapping or a list (a search query, for example) and with ``str`` otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segmento.engine.ast import Segment
from segmento.engine.compiler import Compiler
from segmento.engine.errors import UnsupportedError
from segmento.engine.registry import Registry

logger = logging.getLogger(__name__)

SQL_TARGET = "sql"


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    """A compiled query as text, and its JSON form for ``--format json``."""

    text: str
    document: dict[str, Any] = field(default_factory=dict)


def compile_targets(registry: Registry) -> list[str]:
    """Return the names of the targets ``compile`` accepts, sorted."""
    return sorted({SQL_TARGET, *registry.compilers})


def compile_for_target(
    target: str,
    segment: Segment,
    registry: Registry,
    dialect: str,
    as_of: datetime | None,
    timezone: str,
) -> CompiledQuery:
    """Compile ``segment`` for ``target``. Raises ``UnsupportedError`` when the target cannot express it."""
    if target == SQL_TARGET:
        return _compile_sql(segment, registry, dialect, as_of, timezone)
    compiler_class = registry.compilers.get(target)
    if not (isinstance(compiler_class, type) and issubclass(compiler_class, Compiler)):
        raise UnsupportedError(
            f"target {target!r} has no compiler that segmento compile can run",
            value=target,
            hint="Its plugin must register a subclass of segmento.engine.compiler.Compiler",
            params={"target": target},
        )
    result = compiler_class(registry, as_of=as_of, timezone=timezone).compile(segment)
    if isinstance(result, (Mapping, list)):
        return CompiledQuery(json.dumps(result, ensure_ascii=False, indent=2, default=str), {"query": result})
    return CompiledQuery(str(result), {"query": str(result)})


def _compile_sql(
    segment: Segment, registry: Registry, dialect: str, as_of: datetime | None, timezone: str
) -> CompiledQuery:
    from segmento.plugins.sql import ProfileModel, compile_segment, render_query

    model = ProfileModel(registry)
    statement = compile_segment(segment, model, dialect=dialect, as_of=as_of, timezone=timezone, registry=registry)
    rendered = render_query(statement, dialect)
    logger.debug("compiled segment %s for %s", segment.id, dialect)
    return CompiledQuery(
        str(rendered),
        {"target": SQL_TARGET, "dialect": dialect, "sql": rendered.sql, "parameters": rendered.parameters},
    )
