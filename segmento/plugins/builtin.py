"""The core vocabulary and the in-memory target, registered through the public hooks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from segmento.engine.hookspecs import hookimpl
from segmento.engine.operators import BUILTIN_OPERATORS, OperatorSpec
from segmento.engine.targets import TargetSpec
from segmento.engine.types import BUILTIN_TYPES, FieldType

MEMORY_TARGET: Final = TargetSpec(
    name="memory",
    compiler="segmento.engine.evaluator:MemoryCompiler",
    description="in-memory evaluator, the reference that every other target must agree with",
    output="predicate",
)


@hookimpl
def segmento_field_types() -> Sequence[FieldType]:
    return BUILTIN_TYPES


@hookimpl
def segmento_operators() -> Sequence[OperatorSpec]:
    return BUILTIN_OPERATORS


@hookimpl
def segmento_compilers() -> Sequence[TargetSpec]:
    return (MEMORY_TARGET,)


@hookimpl
def segmento_operator_implementations(target: str) -> Mapping[str, Callable[..., Any]] | None:
    if target == "memory":
        from segmento.engine.memory_operators import MEMORY_OPERATORS

        return MEMORY_OPERATORS
    return None
