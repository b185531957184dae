"""The core vocabulary: field types and operators, registered through the public hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from segmento.engine.hookspecs import hookimpl
from segmento.engine.operators import BUILTIN_OPERATORS, OperatorSpec
from segmento.engine.types import BUILTIN_TYPES, FieldType


@hookimpl
def segmento_field_types() -> Sequence[FieldType]:
    return BUILTIN_TYPES


@hookimpl
def segmento_operators() -> Sequence[OperatorSpec]:
    return BUILTIN_OPERATORS


@hookimpl
def segmento_operator_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    if target == "memory":
        from segmento.engine.memory_operators import MEMORY_OPERATORS

        return MEMORY_OPERATORS
    return None
