"""Kinds of leaf condition that plugins add, beside the built-in field, event and segment tests.

A plugin returns ``ConditionKind`` objects from ``segmento_condition_kinds``. Each one
defines how its node is read from and written to the JSON form, which JSON Schema its
value must match, and how it is checked against the registry. The DSL writes every
plugin kind in one generic form, ``use <name> {<JSON value>}``, so the grammar needs no
change for a new kind. Targets compile the node through
``segmento_condition_implementations``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from segmento.engine.ast import Node
from segmento.engine.errors import Location, RuleSemanticError

if TYPE_CHECKING:
    from segmento.engine.registry import Registry

FromJson = Callable[[Mapping[str, Any], Location], Node]
"""Build the node from the kind's JSON value (already checked by its schema) and the condition's location.

The value sits under the kind's key, so the location of a member is ``location.child(key, member)``.

Raise ``RuleSchemaError`` for a value the schema cannot judge, such as a bad duration text.
"""

ToJson = Callable[[Node], dict[str, Any]]
"""Return the kind's JSON value for a node: the object written under the kind's key."""

Validate = Callable[[Node, "Registry"], Sequence[RuleSemanticError]]
"""Return the problems of a node against the registry (unknown event kinds, ...)."""

RESERVED_KEYS: Final = frozenset({"all", "any", "none", "not", "field", "event", "segment", "id", "name", "condition"})
"""Keys of the built-in rule form, which no plugin kind may take."""


def _no_problems(node: Node, registry: Registry) -> Sequence[RuleSemanticError]:
    return ()


@dataclass(frozen=True, slots=True)
class ConditionKind:
    """A kind of leaf condition: its name, JSON key, node class and conversions.

    In the JSON form a condition of this kind is ``{key: value}``, where ``value``
    matches ``schema`` (a JSON Schema object, draft 2020-12, which may ``$ref`` the
    rule schema's definitions such as ``#/$defs/duration``). In the DSL it is
    ``use <name> <value as JSON>``. ``node`` is a frozen dataclass that subclasses
    ``segmento.engine.ast.Node``. ``from_json`` and ``to_json`` must round-trip:
    ``from_json(to_json(n), loc) == n``. The registry fills in ``plugin``.
    """

    name: str
    key: str
    node: type[Node]
    from_json: FromJson
    to_json: ToJson
    schema: Mapping[str, Any]
    validate: Validate = _no_problems
    description: str = ""
    plugin: str = field(default="", compare=False)


_BY_NODE_CLASS: dict[type[Node], ConditionKind] = {}
"""Every kind any registry has loaded, by node class, so writers need no registry."""


def remember(kind: ConditionKind) -> None:
    """Record ``kind`` so that ``kind_of`` finds it from a node; the registry calls this."""
    _BY_NODE_CLASS[kind.node] = kind


def kind_of(node: Node) -> ConditionKind | None:
    """Return the plugin kind of ``node``, or ``None`` for a built-in node or an unknown class."""
    kind = _BY_NODE_CLASS.get(type(node))
    if kind is None:
        # A node may be built in code before any registry was: load the installed plugins.
        from segmento.engine.registry import get_registry

        get_registry()
        kind = _BY_NODE_CLASS.get(type(node))
    return kind


def schema_definition(kind: ConditionKind) -> dict[str, Any]:
    """Return the rule-schema definition of a condition of ``kind``: ``{key: value}`` and nothing else."""
    return {
        "description": kind.description or f"a {kind.name} condition",
        "type": "object",
        "required": [kind.key],
        "properties": {kind.key: dict(kind.schema)},
        "additionalProperties": False,
    }


def definition_name(kind: ConditionKind) -> str:
    """Return the name under ``$defs`` of the rule schema that holds ``kind``'s definition."""
    return f"plugin_{kind.name}"
