"""Compile a JSON Schema into a Python predicate that returns whether a document is valid.

jsonschema builds a validator object for every keyword and every node it visits, so
checking a rule of 14 conditions took about 8 ms with jsonschema 4.26 (measured with
``benchmarks/bench_compile.py``). A compiled predicate does the same checks with plain
closures and no error objects, which makes the common case (a valid rule) cheap.
``jsonform_schema`` runs jsonschema only when the predicate rejects a document, to word
the errors, so messages do not depend on this module.

Only the draft 2020-12 keywords that the rule schema uses are supported, each with
jsonschema's semantics and the type tests that the jsonschema validator is given. A
keyword outside that set raises ``ValueError`` when the schema is compiled, so a schema
change cannot go unchecked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from numbers import Number
from typing import Any, Final

Predicate = Callable[[Any], bool]
TypePredicates = Mapping[str, Predicate]
"""The test of each JSON type name ("string", "integer", "object", ...) on a Python value."""

ANNOTATIONS: Final = frozenset(
    {"$schema", "$id", "$defs", "$comment", "title", "description", "default", "examples", "deprecated"}
)
"""Keywords that carry no assertion and are skipped."""

# Keywords whose check belongs to another keyword's compilation.
_COMPANIONS: Final = frozenset({"then", "else"})


def compile_predicate(
    schema: Mapping[str, Any] | bool, types: TypePredicates, definition: str | None = None
) -> Predicate:
    """Return a function that is true exactly when a document is valid against ``schema``.

    ``definition`` names a member of ``$defs`` to check against instead of the root.
    ``types`` must be the type tests of the equivalent jsonschema validator. Raises
    ``ValueError`` when the schema uses a keyword or a ``$ref`` this module does not
    support.
    """
    builder = _Builder(schema, types)
    pointer = "#" if definition is None else f"#/$defs/{definition}"
    return builder.reference(pointer)


class _Builder:
    def __init__(self, root: Mapping[str, Any] | bool, types: TypePredicates) -> None:
        self.root = root
        self.types = types
        self.references: dict[str, Predicate] = {}

    # --- schemas and references -----------------------------------------------------

    def reference(self, pointer: str) -> Predicate:
        """Return the predicate of the local schema at ``pointer``, compiling it once.

        A reference met again while its own schema compiles (a condition inside a group)
        goes through a forwarding function, because the predicate does not exist yet.
        """
        known = self.references.get(pointer)
        if known is not None:
            return known
        compiled: list[Predicate] = []
        self.references[pointer] = lambda value: compiled[0](value)
        check = self.schema(self._resolve(pointer))
        compiled.append(check)
        # Later references call the predicate directly, but earlier ones keep forwarding.
        self.references[pointer] = check
        return check

    def _resolve(self, pointer: str) -> Any:
        if pointer != "#" and not pointer.startswith("#/"):
            raise ValueError(f"reference {pointer!r} is not supported: only local references (\"#/...\") are")
        node: Any = self.root
        for token in pointer[2:].split("/") if pointer != "#" else ():
            key = token.replace("~1", "/").replace("~0", "~")
            node = node[int(key)] if isinstance(node, list) else node[key]
        return node

    def schema(self, schema: Any) -> Predicate:
        """Return the predicate of one schema: a boolean or an object of keywords."""
        if schema is True:
            return _always
        if schema is False:
            return _never
        if not isinstance(schema, Mapping):
            raise ValueError(f"a schema is an object or a boolean, not {schema!r}")
        checks: list[Predicate] = []
        for keyword, argument in schema.items():
            if keyword in ANNOTATIONS or keyword in _COMPANIONS:
                continue
            compile_keyword = _KEYWORDS.get(keyword)
            if compile_keyword is None:
                raise ValueError(f"keyword {keyword!r} is not supported")
            checks.append(compile_keyword(self, argument, schema))
        return _all_of(checks)

    def is_type(self, name: str) -> Predicate:
        test = self.types.get(name)
        if test is None:
            raise ValueError(f"unknown JSON type {name!r}")
        return test

    # --- keywords -------------------------------------------------------------------

    def ref(self, pointer: str, schema: Mapping[str, Any]) -> Predicate:
        return self.reference(pointer)

    def type(self, names: str | Sequence[str], schema: Mapping[str, Any]) -> Predicate:
        checks = [self.is_type(name) for name in ([names] if isinstance(names, str) else names)]
        if len(checks) == 1:
            return checks[0]
        return lambda value: any(check(value) for check in checks)

    def enum(self, members: Sequence[Any], schema: Mapping[str, Any]) -> Predicate:
        for member in members:
            _check_scalar_constant(member)
        if all(isinstance(member, str) for member in members):
            # Only a string equals a string constant.
            texts = frozenset(members)
            return lambda value: isinstance(value, str) and value in texts
        return lambda value: any(_json_equal(member, value) for member in members)

    def const(self, member: Any, schema: Mapping[str, Any]) -> Predicate:
        return self.enum([member], schema)

    def properties(self, properties: Mapping[str, Any], schema: Mapping[str, Any]) -> Predicate:
        is_object = self.is_type("object")
        checks = [(name, self.schema(subschema)) for name, subschema in properties.items()]

        def check(value: Any) -> bool:
            if not is_object(value):
                return True
            for name, check_member in checks:
                if name in value and not check_member(value[name]):
                    return False
            return True

        return check

    def additional_properties(self, additional: Any, schema: Mapping[str, Any]) -> Predicate:
        if "patternProperties" in schema:
            raise ValueError("keyword 'patternProperties' is not supported")
        is_object = self.is_type("object")
        known = frozenset(schema.get("properties", ()))
        check_extra = self.schema(additional)

        def check(value: Any) -> bool:
            if not is_object(value):
                return True
            return all(check_extra(value[name]) for name in value if name not in known)

        return check

    def required(self, names: Sequence[str], schema: Mapping[str, Any]) -> Predicate:
        is_object = self.is_type("object")
        if len(names) == 1:
            (name,) = names
            return lambda value: not is_object(value) or name in value
        return lambda value: not is_object(value) or all(name in value for name in names)

    def min_properties(self, limit: int, schema: Mapping[str, Any]) -> Predicate:
        is_object = self.is_type("object")
        return lambda value: not is_object(value) or len(value) >= limit

    def dependent_schemas(self, dependencies: Mapping[str, Any], schema: Mapping[str, Any]) -> Predicate:
        is_object = self.is_type("object")
        checks = [(name, self.schema(subschema)) for name, subschema in dependencies.items()]
        return lambda value: not is_object(value) or all(
            check(value) for name, check in checks if name in value
        )

    def items(self, items: Any, schema: Mapping[str, Any]) -> Predicate:
        if "prefixItems" in schema:
            raise ValueError("keyword 'prefixItems' is not supported")
        is_array = self.is_type("array")
        check_item = self.schema(items)
        return lambda value: not is_array(value) or all(check_item(item) for item in value)

    def min_items(self, limit: int, schema: Mapping[str, Any]) -> Predicate:
        is_array = self.is_type("array")
        return lambda value: not is_array(value) or len(value) >= limit

    def max_items(self, limit: int, schema: Mapping[str, Any]) -> Predicate:
        is_array = self.is_type("array")
        return lambda value: not is_array(value) or len(value) <= limit

    def pattern(self, pattern: str, schema: Mapping[str, Any]) -> Predicate:
        is_string = self.is_type("string")
        search = re.compile(pattern).search
        return lambda value: not is_string(value) or search(value) is not None

    def min_length(self, limit: int, schema: Mapping[str, Any]) -> Predicate:
        is_string = self.is_type("string")
        return lambda value: not is_string(value) or len(value) >= limit

    def max_length(self, limit: int, schema: Mapping[str, Any]) -> Predicate:
        is_string = self.is_type("string")
        return lambda value: not is_string(value) or len(value) <= limit

    def minimum(self, limit: Number, schema: Mapping[str, Any]) -> Predicate:
        is_number = self.is_type("number")
        return lambda value: not is_number(value) or not value < limit

    def maximum(self, limit: Number, schema: Mapping[str, Any]) -> Predicate:
        is_number = self.is_type("number")
        return lambda value: not is_number(value) or not value > limit

    def if_(self, condition: Any, schema: Mapping[str, Any]) -> Predicate:
        check_if = self.schema(condition)
        check_then = self.schema(schema.get("then", True))
        check_else = self.schema(schema.get("else", True))
        return lambda value: check_then(value) if check_if(value) else check_else(value)

    def all_of(self, schemas: Sequence[Any], schema: Mapping[str, Any]) -> Predicate:
        return _all_of([self.schema(subschema) for subschema in schemas])

    def any_of(self, schemas: Sequence[Any], schema: Mapping[str, Any]) -> Predicate:
        checks = [self.schema(subschema) for subschema in schemas]
        return lambda value: any(check(value) for check in checks)

    def one_of(self, schemas: Sequence[Any], schema: Mapping[str, Any]) -> Predicate:
        checks = [self.schema(subschema) for subschema in schemas]

        def check(value: Any) -> bool:
            matches = 0
            for check_branch in checks:
                if check_branch(value):
                    matches += 1
                    if matches > 1:
                        return False
            return matches == 1

        return check

    def not_(self, negated: Any, schema: Mapping[str, Any]) -> Predicate:
        check = self.schema(negated)
        return lambda value: not check(value)


_KEYWORDS: Final[dict[str, Callable[[_Builder, Any, Mapping[str, Any]], Predicate]]] = {
    "$ref": _Builder.ref,
    "type": _Builder.type,
    "enum": _Builder.enum,
    "const": _Builder.const,
    "properties": _Builder.properties,
    "additionalProperties": _Builder.additional_properties,
    "required": _Builder.required,
    "minProperties": _Builder.min_properties,
    "dependentSchemas": _Builder.dependent_schemas,
    "items": _Builder.items,
    "minItems": _Builder.min_items,
    "maxItems": _Builder.max_items,
    "pattern": _Builder.pattern,
    "minLength": _Builder.min_length,
    "maxLength": _Builder.max_length,
    "minimum": _Builder.minimum,
    "maximum": _Builder.maximum,
    "if": _Builder.if_,
    "allOf": _Builder.all_of,
    "anyOf": _Builder.any_of,
    "oneOf": _Builder.one_of,
    "not": _Builder.not_,
}


def _always(value: Any) -> bool:
    return True


def _never(value: Any) -> bool:
    return False


def _all_of(checks: list[Predicate]) -> Predicate:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    members = tuple(checks)

    def check(value: Any) -> bool:
        for check_member in members:
            if not check_member(value):
                return False
        return True

    return check


def _check_scalar_constant(member: Any) -> None:
    if member is not None and not isinstance(member, (str, bool, int, float)):
        raise ValueError(f"constant {member!r} is not supported: only strings, numbers, booleans and null are")


def _json_equal(member: Any, value: Any) -> bool:
    """Compare a schema constant with a value as JSON does: ``true`` is not ``1``."""
    if isinstance(member, str) or isinstance(value, str):
        return bool(member == value)
    if isinstance(member, bool) or isinstance(value, bool):
        return member is value
    if member is None or value is None:
        return member is value
    return isinstance(value, Number) and bool(member == value)
