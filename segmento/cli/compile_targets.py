"""The targets ``segmento compile`` can print, and how each one's query is shown.

The targets are those of the registry whose compiler returns a query
(``TargetSpec.output``). The in-memory target returns a predicate and has nothing to
print. ``sql`` needs the profile model and a dialect. Any other target is compiled with
the constructor of ``engine.compiler.Compiler``, and its result is printed as JSON
when it is a mapping or a list (a search query, for example) and with ``str`` otherwise.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from segmento.engine.ast import Segment
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
    """Return the names of the registered targets whose query ``compile`` can print, sorted."""
    return sorted(name for name, spec in registry.targets.items() if spec.output == "query")


def target_problem(target: str, registry: Registry) -> str | None:
    """Return why ``compile`` cannot print a query for ``target``, or ``None`` when it can."""
    targets = compile_targets(registry)
    if target in targets:
        return None
    if target in registry.targets:
        return (
            f"target {target!r} evaluates rules in this process and has no query to print; "
            f"use segmento match to list the profiles it selects, or compile for one of: {', '.join(targets)}"
        )
    return f"unknown target {target!r}; registered targets: {', '.join(targets)}"


def compile_for_target(
    target: str,
    segment: Segment,
    registry: Registry,
    dialect: str,
    as_of: datetime | None,
    timezone: str,
) -> CompiledQuery:
    """Compile ``segment`` for ``target``.

    Raises ``UnsupportedError`` when the target is unknown, has no query to print or
    cannot express the segment, and ``PluginError`` when its compiler cannot be imported.
    """
    problem = target_problem(target, registry)
    if problem is not None:
        raise UnsupportedError(problem, value=target, params={"target": target})
    compiler_class = registry.compiler(target)
    if target == SQL_TARGET:
        return _compile_sql(segment, registry, dialect, as_of, timezone)
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
