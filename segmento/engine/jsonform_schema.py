"""The rule document's JSON Schema and the checks that turn its failures into rule errors.

A document is first checked by a predicate compiled from the schema
(``schema_predicate``), which is fast and gives no details. Only a document that fails
it goes through jsonschema, one node at a time. jsonschema would report a condition
that fails the schema's ``oneOf`` as one error that hides the real problem. So each
condition's kind is read from its keys first (``all``, ``any``, ``none``, ``field``,
``event``, ``segment`` or the key of a plugin's condition kind), and the node is checked against that kind's sub-schema
only. Conditions that pass the compiled check are skipped. The resulting errors are
worded for a marketer in ``jsonform_messages``.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from decimal import Decimal
from numbers import Number
from typing import Any, Final

from jsonschema import Draft202012Validator, validators

from segmento.engine.catalog import closest
from segmento.engine.condition_kinds import ConditionKind, definition_name, schema_definition
from segmento.engine.errors import Location, RuleSchemaError
from segmento.engine.jsonform_messages import describe_validation_error, json_kind, show
from segmento.engine.schema_predicate import Predicate, compile_predicate

SCHEMA_FILE: Final = "rule.schema.json"

VALUE_TYPES: Final[tuple[str, ...]] = (
    "string",
    "integer",
    "number",
    "decimal",
    "boolean",
    "date",
    "datetime",
    "duration",
    "period",
    "list",
)
"""Names that a condition's ``type`` may take; ``decimal`` is read as ``number``."""

GROUP_KEYS: Final[tuple[str, ...]] = ("all", "any", "none")
CONDITION_KINDS: Final[dict[str, str]] = {
    "all": "group",
    "any": "group",
    "none": "group",
    "field": "field_condition",
    "event": "event_condition",
    "segment": "segment_reference",
}
"""Key that marks each kind of condition, and the schema definition of that kind."""

_SUBJECTS: Final[dict[str, str]] = {"segment": "the segment", "condition": "the condition"}

# Problems that explain the others of their node, reported first.
_PRIORITY: Final[dict[str, int]] = {
    "swapped_type_operator": 0,
    "unknown_condition_kind": 1,
    "mixed_condition_kinds": 1,
}


@functools.cache
def _shipped_schema() -> dict[str, Any]:
    resource = importlib.resources.files("segmento").joinpath("schemas", SCHEMA_FILE)
    schema: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return schema


def rule_schema(kinds: Sequence[ConditionKind] = ()) -> dict[str, Any]:
    """Return a copy of the rule document's JSON Schema (draft 2020-12), with the condition ``kinds`` of plugins.

    Without ``kinds`` it is the schema as shipped in the package.
    """
    return copy.deepcopy(_schemas(tuple(kinds)).schema)


class _Schemas:
    """The rule schema extended with some plugin condition kinds, and what is compiled from it."""

    def __init__(self, kinds: tuple[ConditionKind, ...]) -> None:
        schema = copy.deepcopy(_shipped_schema())
        self.condition_kinds: dict[str, str] = dict(CONDITION_KINDS)
        for kind in kinds:
            name = definition_name(kind)
            schema["$defs"][name] = schema_definition(kind)
            schema["$defs"]["condition"]["oneOf"].append({"$ref": f"#/$defs/{name}"})
            self.condition_kinds[kind.key] = name
        self.schema = schema
        self.checks: dict[str | None, Predicate] = {}
        # ``condition`` keeps its description and checks nothing, so one node is checked
        # without the conditions below it; ``_condition_problems`` checks them one by one.
        node_schema = copy.deepcopy(schema)
        node_schema["$defs"]["condition"] = {"description": schema["$defs"]["condition"]["description"]}
        self.node_validator: Any = RuleValidator(node_schema)

    def check(self, definition: str | None) -> Predicate:
        check = self.checks.get(definition)
        if check is None:
            check = self.checks[definition] = compile_predicate(self.schema, JSON_TYPES, definition)
        return check

    def definition(self, name: str | None) -> Mapping[str, Any]:
        return self.schema if name is None else self.schema["$defs"][name]

    def node_schema(self, name: str | None) -> Mapping[str, Any]:
        schema: Mapping[str, Any] = self.node_validator.schema
        return schema if name is None else schema["$defs"][name]


_SCHEMAS: dict[tuple[tuple[str, str, int], ...], _Schemas] = {}


def _schemas(kinds: tuple[ConditionKind, ...]) -> _Schemas:
    key = tuple((kind.name, kind.key, id(kind.schema)) for kind in kinds)
    found = _SCHEMAS.get(key)
    if found is None:
        found = _SCHEMAS[key] = _Schemas(kinds)
    return found


def _is_integer(instance: Any) -> bool:
    # JSON text is parsed with Decimal for fractions, so 3.0 arrives as Decimal("3.0").
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, float):
        return math.isfinite(instance) and instance.is_integer()
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return False


def _is_number(instance: Any) -> bool:
    return isinstance(instance, Number) and not isinstance(instance, bool)


def _is_array(instance: Any) -> bool:
    return isinstance(instance, (list, tuple))


def _is_object(instance: Any) -> bool:
    # The ABC check is slow, and parsed JSON objects are dicts.
    return isinstance(instance, dict) or isinstance(instance, Mapping)


def _checker_function(test: Callable[[Any], bool]) -> Callable[[Any, Any], bool]:
    return lambda checker, instance: test(instance)


JSON_TYPES: Final[dict[str, Callable[[Any], bool]]] = {
    "string": lambda instance: isinstance(instance, str),
    "integer": _is_integer,
    "number": _is_number,
    "boolean": lambda instance: isinstance(instance, bool),
    "null": lambda instance: instance is None,
    "array": _is_array,
    "object": _is_object,
}
"""The test of each JSON type, shared by the jsonschema validator and the compiled check.

They accept what loading produces and what callers pass: Decimal numbers, tuples, any Mapping.
"""

_TYPE_CHECKER: Final = Draft202012Validator.TYPE_CHECKER.redefine_many(
    {name: _checker_function(test) for name, test in JSON_TYPES.items()}
)
RuleValidator: Final = validators.extend(Draft202012Validator, type_checker=_TYPE_CHECKER)
"""Draft 2020-12 validator that also accepts Decimal numbers, tuples and any Mapping."""


def schema_problems(
    document: Any, definition: str | None, location: Location, kinds: Sequence[ConditionKind] = ()
) -> list[RuleSchemaError]:
    """Check ``document`` against the schema, or one of its ``$defs``, and return every problem.

    ``location`` is where ``document`` sits, and problems carry pointers below it. The
    list is sorted most useful first: swapped ``type``/``operator``, then conditions of
    no clear kind, then the other problems from the root down, in document order at
    each depth. ``kinds`` are the plugin condition kinds the document may use.
    """
    schemas = _schemas(tuple(kinds))
    # The compiled check accepts exactly what jsonschema accepts, in a fraction of the
    # time. jsonschema runs only to explain a document that fails it.
    if schemas.check(definition)(document):
        return []
    if definition == "condition":
        problems = list(_condition_problems(schemas, document, location))
    else:
        subject = _SUBJECTS.get(definition or "", "the document")
        problems = list(_node_problems(schemas, document, schemas.node_schema(definition), location, subject))
        for segment, where in _segments(document, definition, location):
            if "condition" in segment:
                problems.extend(_nested_condition_problems(schemas, segment["condition"], where.child("condition")))
    problems = _merge_misspelled_keys(problems)
    unique = {(problem.location.pointer, problem.code, problem.message): problem for problem in problems}
    return sorted(unique.values(), key=_sort_key)


def _segments(document: Any, definition: str | None, location: Location) -> Iterator[tuple[Mapping[str, Any], Location]]:
    """Yield the segment objects of a document with their locations, as the schema finds them."""
    if definition is None and _is_array(document):
        for index, item in enumerate(document):
            if _is_object(item):
                yield item, location.child(index)
    elif _is_object(document):
        yield document, location


def _node_problems(
    schemas: _Schemas, instance: Any, schema: Mapping[str, Any], location: Location, subject: str
) -> Iterator[RuleSchemaError]:
    validator = schemas.node_validator.evolve(schema=schema)
    for error in validator.iter_errors(instance):
        where = location.child(*error.absolute_path)
        yield from describe_validation_error(error, where, schema, schemas.schema, subject)


def _nested_condition_problems(schemas: _Schemas, node: Any, location: Location) -> Iterator[RuleSchemaError]:
    if not schemas.check("condition")(node):
        yield from _condition_problems(schemas, node, location)


def _condition_problems(schemas: _Schemas, node: Any, location: Location) -> Iterator[RuleSchemaError]:
    if not isinstance(node, Mapping):
        yield RuleSchemaError(
            f"a condition must be an object, not {json_kind(node)}",
            location=location,
            value=node,
            hint=schemas.definition("condition")["description"],
            code="wrong_json_type",
            params={"value": node},
        )
        return
    kinds = [key for key in schemas.condition_kinds if key in node]
    if not kinds:
        yield _unknown_kind(schemas, node, location)
        return
    if len(kinds) > 1:
        yield _mixed_kinds(node, kinds, location)
        return
    kind = schemas.condition_kinds[kinds[0]]
    if kind in ("field_condition", "event_condition") and looks_swapped(node):
        yield _swapped(node, location)
        return
    yield from _node_problems(schemas, node, schemas.node_schema(kind), location, "the condition")
    children = node[kinds[0]]
    if kind == "group" and _is_array(children):
        for index, child in enumerate(children):
            yield from _nested_condition_problems(schemas, child, location.child(kinds[0], index))


def looks_swapped(node: Mapping[str, Any]) -> bool:
    """Tell whether a leaf uses the old format, with the operator in ``type`` and the type in ``operator``."""
    operator, value_type = node.get("operator"), node.get("type")
    return operator in VALUE_TYPES and isinstance(value_type, str) and value_type not in VALUE_TYPES


def _swapped(node: Mapping[str, Any], location: Location) -> RuleSchemaError:
    operator, value_type = node.get("operator"), node.get("type")
    return RuleSchemaError(
        f'"type" and "operator" look swapped: "type" is {show(value_type)} and "operator" is {show(operator)}',
        location=location,
        value={"type": value_type, "operator": operator},
        hint=f'This is the old rule format. Write "operator": {show(value_type)}, "type": {show(operator)}',
        code="swapped_type_operator",
        params={"type": value_type, "operator": operator},
    )


def _unknown_kind(schemas: _Schemas, node: Mapping[str, Any], location: Location) -> RuleSchemaError:
    kind_keys = ", ".join(f'"{key}"' for key in schemas.condition_kinds)
    hint = schemas.definition("condition")["description"]
    for key in node:
        suggestion = closest(str(key), schemas.condition_kinds)
        if suggestion is not None:
            hint = f'Did you mean "{suggestion}" instead of "{key}"?'
            break
    return RuleSchemaError(
        f"a condition needs one of the keys {kind_keys}",
        location=location,
        value=dict(node),
        hint=hint,
        code="unknown_condition_kind",
        params={"keys": sorted(str(key) for key in node)},
    )


def _mixed_kinds(node: Mapping[str, Any], kinds: list[str], location: Location) -> RuleSchemaError:
    found = " and ".join(f'"{key}"' for key in kinds)
    if all(key in GROUP_KEYS for key in kinds):
        message = f'a group has exactly one of "all", "any", "none", but this one has {found}'
        hint = 'Nest one group inside the other, for example {"all": [..., {"any": [...]}]}'
    else:
        message = f"a condition is of one kind, but this one has the keys {found}"
        hint = 'Split it into separate conditions inside an "all" or "any" group'
    return RuleSchemaError(
        message, location=location, value=dict(node), hint=hint, code="mixed_condition_kinds", params={"keys": kinds}
    )


def _merge_misspelled_keys(problems: list[RuleSchemaError]) -> list[RuleSchemaError]:
    """Drop "missing key" problems that an unknown key's did-you-mean hint already explains."""
    explained = {
        (problem.params.get("object_pointer"), problem.params.get("suggestion"))
        for problem in problems
        if problem.code == "unknown_key" and problem.params.get("suggestion")
    }
    return [
        problem
        for problem in problems
        if not (problem.code == "missing_key" and (problem.location.pointer, problem.params.get("key")) in explained)
    ]


def _sort_key(problem: RuleSchemaError) -> tuple[int, int, list[tuple[int, int | str]]]:
    tokens = _pointer_tokens(problem.location.pointer or "")
    return (_PRIORITY.get(problem.code, 2), len(tokens), tokens)


def _pointer_tokens(pointer: str) -> list[tuple[int, int | str]]:
    tokens: list[tuple[int, int | str]] = []
    for raw in pointer.split("/")[1:]:
        token = raw.replace("~1", "/").replace("~0", "~")
        tokens.append((0, int(token)) if token.isdigit() else (1, token))
    return tokens
