"""Base of every target: walks a rule and hands each node to a ``visit_<Node>`` method.

The base owns what all targets share, so no target can get it wrong on its own:
groups, ``"not": true``, and negative operators, which are always compiled as the
complement of their positive operator. A target implements positive tests and the
three combinators ``all_of``, ``any_of`` and ``negate``. A leaf of a plugin's
condition kind goes to the implementation that a plugin registers for this target.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any, ClassVar, Generic, TypeVar

from segmento.engine.ast import Comparison, EventCondition, Group, Node, Segment, SegmentRef
from segmento.engine.catalog import FieldSpec
from segmento.engine.errors import UnsupportedError
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import Implementation, Registry, get_registry
from segmento.engine.temporal import DEFAULT_TIMEZONE, Clock
from segmento.engine.types import FieldType

Result = TypeVar("Result")


class Compiler(Generic[Result]):
    """Turns a ``Segment`` or condition into a ``Result`` for one target.

    Subclasses set ``target`` and implement the abstract methods below. ``visit``
    dispatches on the node's class through a table built from the ``visit_<ClassName>``
    methods when the subclass is defined.
    """

    target: ClassVar[str] = ""
    _visitors: ClassVar[dict[type, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        visitors: dict[type, Callable[..., Any]] = {}
        for node_type in (Segment, Group, Comparison, EventCondition, SegmentRef):
            method = getattr(cls, f"visit_{node_type.__name__}", None)
            if method is not None:
                visitors[node_type] = method
        cls._visitors = visitors

    def __init__(
        self,
        registry: Registry | None = None,
        *,
        as_of: datetime | None = None,
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
    ) -> None:
        self.registry = registry or get_registry()
        self.clock = Clock.at(as_of, timezone)

    def compile(self, node: Node) -> Result:
        """Return the target's form of ``node``."""
        return self.visit(node)

    def visit(self, node: Node) -> Result:
        visitor = self._visitors.get(type(node))
        if visitor is None:
            return self.visit_plugin_condition(node)
        return visitor(self, node)

    def visit_plugin_condition(self, node: Node) -> Result:
        """Compile a leaf of a plugin's condition kind through the target's implementation of it."""
        kind = self.registry.condition_kind_for(node)
        if kind is None:
            raise UnsupportedError(
                f"target {self.target!r} cannot compile a {type(node).__name__} condition",
                location=node.loc,
                params={"target": self.target, "node": type(node).__name__},
            )
        implementation = self.registry.kind_implementation(self.target, kind.name)
        if implementation is None:
            raise UnsupportedError(
                f"condition kind {kind.name!r} is not supported by target {self.target!r}",
                location=node.loc,
                value=kind.name,
                hint=f"Install a plugin that implements {kind.name!r} for {self.target!r}, "
                "or evaluate the segment on another backend",
                params={"target": self.target, "kind": kind.name},
            )
        result: Result = implementation.function(self, node)
        return result

    # --- shared structure -------------------------------------------------------------

    def visit_Segment(self, node: Segment) -> Result:
        return self.visit(node.condition)

    def visit_Group(self, node: Group) -> Result:
        parts = [self.visit(child) for child in node.conditions]
        if node.kind == "all":
            result = self.all_of(parts)
        elif node.kind == "any":
            result = self.any_of(parts)
        elif node.kind == "none":
            result = self.negate(self.any_of(parts))
        else:
            raise UnsupportedError(
                f"unknown group kind {node.kind!r}",
                location=node.loc,
                value=node.kind,
                hint="Use all, any or none",
            )
        return self.negate(result) if node.negated else result

    def visit_Comparison(self, node: Comparison) -> Result:
        spec = self.operator_spec(node, node.operator)
        positive = self.registry.positive_operator(spec.name)
        result = self.compile_comparison(node, positive, self.field_spec(node))
        return self.negate(result) if spec.negates else result

    def visit_EventCondition(self, node: EventCondition) -> Result:
        spec = self.operator_spec(node, node.operator)
        positive = self.registry.positive_operator(spec.name)
        result = self.compile_event(node, positive)
        return self.negate(result) if spec.negates else result

    def visit_SegmentRef(self, node: SegmentRef) -> Result:
        result = self.compile_segment_ref(node)
        return self.negate(result) if node.negated else result

    # --- lookups ----------------------------------------------------------------------

    def operator_spec(self, node: Node, name: str) -> OperatorSpec:
        spec = self.registry.operators.get(name)
        if spec is None:
            raise UnsupportedError(
                f"unknown operator {name!r}",
                location=node.loc,
                value=name,
                hint="Validate the rule before compiling it",
                params={"target": self.target, "operator": name},
            )
        return spec

    def field_spec(self, node: Comparison) -> FieldSpec:
        spec = self.registry.catalog.fields.get(node.field)
        if spec is None:
            raise UnsupportedError(
                f"unknown field {node.field!r}",
                location=node.loc,
                value=node.field,
                hint="Validate the rule before compiling it",
                params={"target": self.target, "field": node.field},
            )
        return spec

    def field_type(self, spec: FieldSpec) -> FieldType:
        return self.registry.types[spec.type]

    def implementation(self, node: Node, operator: OperatorSpec) -> Implementation | None:
        """Return a plugin's implementation of ``operator`` for this target, if any."""
        return self.registry.implementation(self.target, operator.name)

    def unsupported(self, node: Node, operator: str, reason: str = "") -> UnsupportedError:
        """Return the error for a rule this target cannot express, naming place, operator and target."""
        detail = f": {reason}" if reason else ""
        return UnsupportedError(
            f"operator {operator!r} is not supported by target {self.target!r}{detail}",
            location=node.loc,
            value=operator,
            hint="Rewrite the condition with another operator or evaluate the segment on another backend",
            params={"target": self.target, "operator": operator},
        )

    # --- what a target implements -------------------------------------------------------

    def all_of(self, parts: Sequence[Result]) -> Result:
        raise NotImplementedError(f"{type(self).__name__} must implement all_of")

    def any_of(self, parts: Sequence[Result]) -> Result:
        raise NotImplementedError(f"{type(self).__name__} must implement any_of")

    def negate(self, part: Result) -> Result:
        raise NotImplementedError(f"{type(self).__name__} must implement negate")

    def compile_comparison(self, node: Comparison, operator: OperatorSpec, field: FieldSpec) -> Result:
        """Return the positive test ``operator`` of ``node``; it must be false on a missing value."""
        raise self.unsupported(node, operator.name)

    def compile_event(self, node: EventCondition, operator: OperatorSpec) -> Result:
        """Return the positive comparison of the event count or sum of ``node``."""
        raise self.unsupported(node, operator.name, "behavioural conditions")

    def compile_segment_ref(self, node: SegmentRef) -> Result:
        """Return the test for membership of ``node.segment``, ignoring ``node.negated``."""
        raise self.unsupported(node, "in segment")
