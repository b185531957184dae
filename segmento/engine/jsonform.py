"""JSON form of rules: read a rule document into the AST and write it back.

A document is checked against the rule schema (``segmento/schemas/rule.schema.json``)
before any node is built; every problem found is reported together, the most useful
first. Loading does not consult the field catalog: ``validation.validate_segment``
does that. ``load_segment(dump_segment(s)) == s`` for every segment the schema accepts.

JSON text is read with ``Decimal`` for numbers with a fraction or an exponent, so
amounts of money stay exact.
"""

from __future__ import annotations

import json
import json.decoder
import json.scanner
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

from segmento.engine.ast import Condition, Segment
from segmento.engine.condition_kinds import ConditionKind
from segmento.engine.errors import Location, RuleErrors, RuleSchemaError, RuleSyntaxError
from segmento.engine.jsonform_dump import dump_condition, dump_segment, dump_segments, encode_json
from segmento.engine.jsonform_load import DocumentBuilder
from segmento.engine.jsonform_schema import rule_schema, schema_problems
from segmento.engine.registry import Registry, get_registry

Document = Mapping[str, Any] | Sequence[Any] | str | bytes
"""A rule document: parsed JSON (dicts and lists), or JSON text as ``str`` or UTF-8 ``bytes``."""


def load_segment(document: Document, *, source: str | None = None, registry: Registry | None = None) -> Segment:
    """Read one segment object.

    ``source`` names the file or input in error locations. Raises ``RuleSyntaxError``
    for JSON text that does not parse, and ``RuleSchemaError`` (``RuleErrors`` when there
    are several) for a document that does not match the rule schema. ``registry``
    (default: the installed plugins) gives the condition kinds that plugins add.
    """
    parsed = _parse(document, source)
    location = Location(pointer="", source=source)
    kinds = _kinds(registry)
    _raise(schema_problems(parsed, "segment", location, kinds))
    builder = _builder(kinds)
    segment = builder.build_segment(parsed, location)
    _raise(builder.problems)
    return segment


def load_segments(
    document: Document, *, source: str | None = None, registry: Registry | None = None
) -> list[Segment]:
    """Read one segment object or an array of them; raises like ``load_segment``."""
    parsed = _parse(document, source)
    location = Location(pointer="", source=source)
    kinds = _kinds(registry)
    _raise(schema_problems(parsed, None, location, kinds))
    builder = _builder(kinds)
    if isinstance(parsed, Mapping):
        segments = [builder.build_segment(parsed, location)]
    else:
        segments = [builder.build_segment(item, location.child(index)) for index, item in enumerate(parsed)]
    _raise(builder.problems)
    return segments


def load_condition(
    document: Document, *, source: str | None = None, pointer: str = "", registry: Registry | None = None
) -> Condition:
    """Read one condition object; ``pointer`` is where it sits in a larger document."""
    parsed = _parse(document, source)
    location = Location(pointer=pointer, source=source)
    kinds = _kinds(registry)
    _raise(schema_problems(parsed, "condition", location, kinds))
    builder = _builder(kinds)
    condition = builder.build_condition(parsed, location)
    _raise(builder.problems)
    return condition


def dumps_segment(segment: Segment, *, indent: int | None = 2) -> str:
    """Return the canonical JSON text of ``segment``; numbers are exact, never floats."""
    return encode_json(dump_segment(segment), indent=indent)


def dumps_segments(segments: Iterable[Segment], *, indent: int | None = 2) -> str:
    """Return the canonical JSON text of an array of segments."""
    return encode_json(dump_segments(segments), indent=indent)


def parse_json_text(text: str | bytes, *, source: str | None = None) -> Any:
    """Parse JSON text with ``Decimal`` for fractions and exponents, rejecting duplicate keys.

    ``bytes`` must be UTF-8, with or without a byte order mark. Raises
    ``RuleSyntaxError`` with the line and column of the problem.
    """
    if isinstance(text, bytes):
        text = decode_rule_text(text, source=source)
    elif text.startswith("\ufeff"):
        text = text[1:]
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_object_without_repeats)
    except (json.JSONDecodeError, _RepeatedKeyError):
        # The fast C parser cannot tell where a repeated key is. The Python parser
        # reads the text again to find the problem and its position.
        pass
    except RecursionError:
        raise _too_deep(source) from None
    try:
        return _RuleDecoder().decode(text)
    except RecursionError:
        raise _too_deep(source) from None
    except json.JSONDecodeError as error:
        raise _syntax_error(error.msg, text, error.pos, source) from None
    except _DuplicateKeyError as error:
        raise _syntax_error(
            f'duplicate key "{error.key}" in an object',
            text,
            error.position,
            source,
            hint="Each key may appear once per object; remove one of them",
            code="duplicate_key",
        ) from None


def _kinds(registry: Registry | None) -> tuple[ConditionKind, ...]:
    return tuple((registry or get_registry()).condition_kinds.values())


def _builder(kinds: tuple[ConditionKind, ...]) -> DocumentBuilder:
    return DocumentBuilder({kind.key: kind for kind in kinds})


def _parse(document: Document, source: str | None) -> Any:
    parsed = parse_json_text(document, source=source) if isinstance(document, (str, bytes)) else document
    if _nesting_depth(parsed) > MAX_JSON_NESTING:
        raise _too_deep(source)
    return parsed


MAX_JSON_NESTING = 100
"""Deepest nesting of JSON arrays and objects a rule document may have.

Validation allows 10 nested groups by default, which is 20 JSON levels; this bound
keeps the loader's recursion far from Python's recursion limit.
"""


def _nesting_depth(document: Any) -> int:
    """Return how deeply arrays and objects nest in ``document``, without recursion."""
    deepest = 0
    stack = [(document, 1)]
    while stack:
        value, level = stack.pop()
        if isinstance(value, Mapping):
            children = value.values()
        elif isinstance(value, (list, tuple)):
            children = value
        else:
            continue
        deepest = max(deepest, level)
        if level <= MAX_JSON_NESTING:
            stack.extend((child, level + 1) for child in children)
    return deepest


def _too_deep(source: str | None) -> RuleSchemaError:
    return RuleSchemaError(
        f"the document nests arrays and objects more than {MAX_JSON_NESTING} levels deep",
        location=Location(pointer="", source=source),
        hint="Flatten the rule: groups may nest at most 10 deep by default",
        code="too_deep",
    )


def _raise(problems: list[RuleSchemaError]) -> None:
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise RuleErrors(problems)


def decode_rule_text(data: bytes, *, source: str | None = None) -> str:
    """Decode UTF-8 rule text, dropping a byte order mark.

    Raises ``RuleSyntaxError`` with the line and column of the first byte that is not UTF-8.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line_start = data.rfind(b"\n", 0, error.start) + 1
        line = data.count(b"\n", 0, error.start) + 1
        column = len(data[line_start : error.start].decode("utf-8-sig", errors="replace")) + 1
        raise RuleSyntaxError(
            f"the text is not valid UTF-8: byte 0x{data[error.start]:02x} cannot be decoded",
            location=Location(line=line, column=column, source=source),
            value=data[error.start : error.start + 1],
            hint="Save the file as UTF-8",
            code="not_utf8",
        ) from None


def _syntax_error(
    message: str,
    text: str,
    position: int,
    source: str | None,
    *,
    hint: str = "Fix the JSON syntax at this position",
    code: str = "json_syntax",
) -> RuleSyntaxError:
    line = text.count("\n", 0, position) + 1
    line_start = text.rfind("\n", 0, position) + 1
    line_end = text.find("\n", position)
    source_line = text[line_start : line_end if line_end >= 0 else len(text)]
    return RuleSyntaxError(
        f"invalid JSON: {message}",
        location=Location(line=line, column=position - line_start + 1, source=source),
        source_line=source_line,
        hint=hint,
        code=code,
    )


class _RepeatedKeyError(ValueError):
    pass


def _object_without_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _RepeatedKeyError()
    return result


class _DuplicateKeyError(ValueError):
    def __init__(self, key: str, position: int) -> None:
        super().__init__(key)
        self.key = key
        self.position = position


def _parse_object(
    s_and_end: tuple[str, int], strict: bool, scan_once: Any, object_hook: Any, object_pairs_hook: Any, memo: Any
) -> tuple[dict[str, Any], int]:
    """Parse one JSON object like the standard library, but raise on a repeated key.

    The standard parser keeps the last of two equal keys silently, which would hide a
    rule written twice with different operators.
    """
    text, start = s_and_end
    pairs, end = json.decoder.JSONObject(s_and_end, strict, scan_once, None, list, memo)
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKeyError(key, _key_position(text, start, end, key))
        result[key] = value
    return result, end


def _key_position(text: str, start: int, end: int, key: str) -> int:
    """Return the offset of the last occurrence of ``key`` in the object's text, or of the object's start.

    The occurrence found may sit in a nested value; the position only guides the reader.
    """
    encoded = json.dumps(key, ensure_ascii=False)
    found = text.rfind(encoded, start, end)
    return found if found >= 0 else start - 1


class _RuleDecoder(json.JSONDecoder):
    def __init__(self) -> None:
        super().__init__(parse_float=Decimal)
        self.parse_object = _parse_object
        # The C scanner does not call parse_object, so the duplicate check needs the Python one.
        self.scan_once = json.scanner.py_make_scanner(self)


__all__ = [
    "Document",
    "decode_rule_text",
    "dump_condition",
    "dump_segment",
    "dump_segments",
    "dumps_segment",
    "dumps_segments",
    "encode_json",
    "load_condition",
    "load_segment",
    "load_segments",
    "parse_json_text",
    "rule_schema",
]
