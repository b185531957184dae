"""Wording of rule schema errors: one jsonschema error in, rule errors a marketer can act on out.

Each error names the key and value at fault (by JSON pointer) and takes its hint from
the nearest ``description`` in the schema. So the schema file stays the one place that
states what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any, Final

from jsonschema import ValidationError

from segmento.engine.catalog import closest
from segmento.engine.errors import Location, RuleSchemaError

_JSON_TYPE_NAMES: Final[dict[str, str]] = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "null",
}

_SHOWN_LENGTH: Final = 60


def show(value: Any) -> str:
    """Return ``value`` as short JSON-like text for a message, cut to about 60 characters."""
    from segmento.engine.jsonform_dump import encode_json

    text = encode_json(value, indent=None)
    if len(text) > _SHOWN_LENGTH:
        text = text[: _SHOWN_LENGTH - 3] + "..."
    return text


def counted(count: int, singular: str, plural: str | None = None) -> str:
    """Return ``count`` with the noun that fits it: "1 day", "0 days", "3 items"."""
    return f"{count} {singular if count == 1 else plural or singular + 's'}"


def json_kind(value: Any) -> str:
    """Return the JSON kind of ``value`` with an article: "a string", "the number 5", "null"."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {show(value)}"
    if isinstance(value, (int, float, Decimal)):
        return f"the number {show(value)}"
    if isinstance(value, str):
        return f"the string {show(value)}"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, date):
        return f"the date {value.isoformat()}"
    return type(value).__name__


def describe_validation_error(
    error: ValidationError,
    location: Location,
    checked_schema: Mapping[str, Any],
    root: Mapping[str, Any],
    subject: str = "the document",
) -> Iterator[RuleSchemaError]:
    """Yield the rule errors that explain one jsonschema ``error``.

    ``checked_schema`` is the schema the error came from and ``root`` the whole rule
    schema, whose ``$defs`` resolve references. ``subject`` names the checked node in
    messages about the node itself ("the condition").
    """
    hint = _nearest_description(checked_schema, error.relative_schema_path, root)
    if error.validator in ("anyOf", "oneOf") and error.context:
        branch_errors = _errors_of_matching_branch(error.context)
        if branch_errors:
            for branch_error in branch_errors:
                yield from _describe(branch_error, location.child(*branch_error.relative_path), hint, subject, root)
            return
    yield from _describe(error, location, hint, subject, root)


def _describe(
    error: ValidationError, location: Location, hint: str | None, subject: str, root: Mapping[str, Any]
) -> Iterator[RuleSchemaError]:
    keyword = error.validator
    instance = error.instance
    key = _key_name(error)

    if keyword == "required":
        yield from _missing_keys(error, location, root)
        return
    if keyword == "additionalProperties":
        yield from _unknown_keys(error, location)
        return

    def problem(message: str, code: str, **params: Any) -> RuleSchemaError:
        return RuleSchemaError(
            message, location=location, value=instance, hint=hint, code=code, params={"key": key, **params}
        )

    subject = f'"{key}"' if key else subject
    if keyword == "type":
        expected = _expected_types(error.validator_value)
        yield problem(f"{subject} must be {expected}, not {json_kind(instance)}", "wrong_json_type", expected=expected)
    elif keyword in ("enum", "const"):
        allowed = list(error.validator_value) if keyword == "enum" else [error.validator_value]
        yield _not_allowed(subject, key, instance, allowed, location, hint)
    elif keyword == "pattern":
        yield problem(f"{subject} has an invalid format: {show(instance)}", "invalid_format")
    elif keyword == "minLength":
        yield problem(f"{subject} must not be empty", "empty_text")
    elif keyword == "maxLength":
        limit = error.validator_value
        yield problem(f"{subject} is longer than {counted(limit, 'character')}", "too_long", limit=limit)
    elif keyword in ("minItems", "maxItems"):
        limit = error.validator_value
        bound = "at least" if keyword == "minItems" else "at most"
        count = len(instance)
        yield problem(
            f"{subject} has {counted(count, 'item')}, but needs {bound} {limit}",
            "too_few_items" if keyword == "minItems" else "too_many_items",
            limit=limit,
            count=count,
        )
    elif keyword in ("minimum", "maximum"):
        limit = error.validator_value
        relation = "below the minimum" if keyword == "minimum" else "above the maximum"
        code = "below_minimum" if keyword == "minimum" else "above_maximum"
        yield problem(f"{subject} is {show(instance)}, {relation} {limit}", code, limit=limit)
    elif keyword == "minProperties":
        yield problem(f"{subject} must have at least one key", "empty_object")
    elif keyword == "not":
        yield problem(f"{subject} has keys that cannot be combined", "conflicting_keys")
    else:
        yield problem(f"{subject} is invalid: {show(instance)}", "invalid_value", keyword=keyword)


def _errors_of_matching_branch(errors: Sequence[ValidationError]) -> list[ValidationError]:
    """Return the errors of the one ``anyOf`` branch whose type fits the value, if there is one.

    A date list with one bad item fails the "string" and "null" branches on its type,
    and the "list" branch on that item. Only the item's error helps the user.
    """
    by_branch: dict[Any, list[ValidationError]] = {}
    for error in errors:
        by_branch.setdefault(error.relative_schema_path[0], []).append(error)
    fitting = [
        branch
        for branch in by_branch.values()
        if not any(error.validator == "type" and not error.relative_path for error in branch)
    ]
    return fitting[0] if len(fitting) == 1 else []


def _not_allowed(
    subject: str, key: str | None, instance: Any, allowed: list[Any], location: Location, hint: str | None
) -> RuleSchemaError:
    choices = ", ".join(show(item) for item in allowed)
    suggestion = closest(instance, [str(item) for item in allowed]) if isinstance(instance, str) else None
    if len(allowed) == 1:
        message = f"{subject} must be {show(allowed[0])}, not {show(instance)}"
    else:
        message = f"{subject} is {show(instance)}, which is not one of the allowed values"
    parts = [f"Did you mean {show(suggestion)}?"] if suggestion else []
    parts.append(hint if hint and len(allowed) == 1 else f"Use one of: {choices}")
    return RuleSchemaError(
        message,
        location=location,
        value=instance,
        hint=" ".join(parts),
        code="value_not_allowed",
        params={"key": key, "allowed": allowed, "suggestion": suggestion},
    )


def _missing_keys(error: ValidationError, location: Location, root: Mapping[str, Any]) -> Iterator[RuleSchemaError]:
    properties = error.schema.get("properties", {})
    for name in error.validator_value:
        if name in error.instance:
            continue
        described = _resolve(properties.get(name, {}), root)
        yield RuleSchemaError(
            f'missing key "{name}"',
            location=location,
            value=None,
            hint=described.get("description"),
            code="missing_key",
            params={"key": name},
        )


def _unknown_keys(error: ValidationError, location: Location) -> Iterator[RuleSchemaError]:
    known = list(error.schema.get("properties", {}))
    for name in error.instance:
        if name in known:
            continue
        suggestion = closest(str(name), known)
        allowed = ", ".join(f'"{item}"' for item in known)
        hint = f'Did you mean "{suggestion}"?' if suggestion else f"Allowed keys here: {allowed}"
        yield RuleSchemaError(
            f'unknown key "{name}"',
            location=location.child(name),
            value=error.instance[name],
            hint=hint,
            code="unknown_key",
            params={"key": name, "suggestion": suggestion, "allowed": known, "object_pointer": location.pointer},
        )


def _key_name(error: ValidationError) -> str | None:
    for token in reversed(error.absolute_path):
        if isinstance(token, str):
            return token
    return None


def _expected_types(value: str | Sequence[str]) -> str:
    names = [value] if isinstance(value, str) else [name for name in value if name != "null"] or list(value)
    phrases = [_JSON_TYPE_NAMES.get(name, name) for name in names]
    return phrases[0] if len(phrases) == 1 else ", ".join(phrases[:-1]) + " or " + phrases[-1]


def _resolve(schema: Any, root: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow a local ``$ref`` ("#/$defs/name") to its definition; other schemas come back as they are."""
    while isinstance(schema, Mapping) and "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema if isinstance(schema, Mapping) else {}


def _nearest_description(schema: Mapping[str, Any], path: Sequence[str | int], root: Mapping[str, Any]) -> str | None:
    """Return the last ``description`` met while walking ``path`` down from ``schema``.

    jsonschema leaves ``$ref`` out of error paths, so a token missing from a node is
    looked up in the definition that the node refers to.
    """
    node: Any = schema
    found = node.get("description")
    for token in path:
        if isinstance(node, Mapping) and token not in node and "$ref" in node:
            node = _resolve(node, root)
        try:
            node = node[token]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, Mapping):
            resolved = _resolve(node, root)
            found = node.get("description") or resolved.get("description") or found
    return found
