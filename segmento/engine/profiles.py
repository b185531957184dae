"""Profiles: turn the JSON form of a customer profile into Python values.

``coerce_profile`` converts each field by its type in the field catalog: text to NFC,
money and scores to ``Decimal`` (never ``float``), dates and datetimes to ``date`` and
aware UTC ``datetime``. A type that a plugin registers is converted by its kinds, as
the SQL store lays it out: a scalar by ``FieldType.scalar``, a list by ``member``, and
a map of text keys by ``keyed`` when the type has keyed tests. ``events`` and
``segments`` have fixed shapes. Keys the catalog does not know are kept unchanged.
Derived fields (``age``) are dropped because the evaluator computes them. A malformed
value raises ``DataError`` with the JSON pointer of the value and the source
(``profiles.jsonl:12``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Final

from segmento.engine.errors import DataError, Location
from segmento.engine.registry import Registry, get_registry
from segmento.engine.text import normalize
from segmento.engine.types import FieldType, ScalarKind

logger = logging.getLogger(__name__)

_DECIMAL_TEXT: Final = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_INTEGER_TEXT: Final = re.compile(r"[+-]?\d+")
_DATE_TEXT: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME_TEXT: Final = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}.*")


class _Invalid(Exception):
    """A value does not fit its type; ``coerce_profile`` adds the pointer and the source."""

    def __init__(self, message: str, pointer: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.pointer = pointer


# --- scalars ------------------------------------------------------------------------


def _string(value: Any) -> str:
    if isinstance(value, str):
        return normalize(value)
    raise _Invalid(f"expected a string, got {_describe(value)}")


def _identifier(value: Any) -> str:
    """Read an id: a string, or a whole number written as one (``17850`` → ``"17850"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _string(value)


def _decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _Invalid(f"expected a number, got {_describe(value)}")
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        # The shortest text of a float is what the JSON document wrote: 0.1 stays 0.1.
        number = Decimal(repr(value))
    elif isinstance(value, str) and _DECIMAL_TEXT.fullmatch(value):
        try:
            number = Decimal(value)
        except InvalidOperation as error:
            raise _Invalid(f"expected a number, got {_describe(value)}") from error
    else:
        raise _Invalid(f"expected a number or a numeric string, got {_describe(value)}")
    if not number.is_finite():
        raise _Invalid(f"expected a finite number, got {value}")
    return number


def _integer(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    number = _decimal(value)
    if number != number.to_integral_value():
        raise _Invalid(f"expected a whole number, got {value}")
    return int(number)


def _number(value: Any) -> int | Decimal:
    """Read a quantity: whole numbers stay ``int``, anything else becomes ``Decimal``."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return _decimal(value)


def _boolean(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise _Invalid(f"expected true or false, got {_describe(value)}")


def _date(value: Any) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DATE_TEXT.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError as error:
            raise _Invalid(f"invalid date {value!r}: {error}") from error
    raise _Invalid(f"expected a date as YYYY-MM-DD, got {_describe(value)}")


def _datetime(value: Any) -> datetime:
    """Read an instant; stored data without an offset is UTC, unlike rule literals."""
    if isinstance(value, datetime):
        instant = value
    elif isinstance(value, str) and _DATETIME_TEXT.fullmatch(value):
        try:
            instant = datetime.fromisoformat(value)
        except ValueError as error:
            raise _Invalid(f"invalid date and time {value!r}: {error}") from error
    else:
        raise _Invalid(f"expected an ISO 8601 date and time such as 2024-05-01T08:30:00Z, got {_describe(value)}")
    if instant.tzinfo is None:
        return instant.replace(tzinfo=UTC)
    return instant.astimezone(UTC)


# --- lists and maps -----------------------------------------------------------------


def _list_of(item: Callable[[Any], Any]) -> Callable[[Any], list[Any]]:
    def coerce(value: Any) -> list[Any]:
        if not isinstance(value, list):
            raise _Invalid(f"expected a list, got {_describe(value)}")
        return [_at(index, item, member) for index, member in enumerate(value)]

    return coerce


def _map_of(item: Callable[[Any], Any]) -> Callable[[Any], dict[str, Any]]:
    def coerce(value: Any) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            raise _Invalid(f"expected an object of names to numbers, got {_describe(value)}")
        return {normalize(str(key)): _at(str(key), item, member) for key, member in value.items()}

    return coerce


def _at(token: str | int, coerce: Callable[[Any], Any], value: Any) -> Any:
    """Coerce a member of a list or object, adding its token to the pointer of any error."""
    try:
        return coerce(value)
    except _Invalid as error:
        raise _Invalid(error.message, Location(pointer="").child(token).pointer + error.pointer) from None


def _optional(coerce: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda value: None if value is None else coerce(value)


# --- events and segments ------------------------------------------------------------

_EVENT_FIELDS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "kind": _string,
    "time": _datetime,
    "product_id": _optional(_identifier),
    "category": _optional(_string),
    "price": _optional(_decimal),
    "quantity": _optional(_number),
    "value": _optional(_decimal),
}
_REQUIRED_EVENT_FIELDS: Final = ("kind", "time")


def _event(value: Any) -> dict[str, Any]:
    """Read one event; ``value`` is ``price × quantity`` when the event does not give it."""
    if not isinstance(value, Mapping):
        raise _Invalid(f"expected an event object, got {_describe(value)}")
    for name in _REQUIRED_EVENT_FIELDS:
        if value.get(name) is None:
            raise _Invalid(f"event has no {name!r}", f"/{name}")
    event = dict(value)
    for name, coerce in _EVENT_FIELDS.items():
        if name in event:
            event[name] = _at(name, coerce, event[name])
    if event.get("value") is None and event.get("price") is not None and event.get("quantity") is not None:
        event["value"] = event["price"] * event["quantity"]
    return event


_SCALAR_COERCERS: Final[Mapping[ScalarKind, Callable[[Any], Any]]] = {
    "string": _string,
    "integer": _integer,
    "decimal": _decimal,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
}
"""Coercion of a JSON value to each scalar kind."""

_TYPE_COERCERS: Final[Mapping[str, Callable[[Any], Any]]] = {
    **_SCALAR_COERCERS,
    "string_list": _list_of(_string),
    "number_list": _list_of(_decimal),
    "count_map": _map_of(_integer),
    "score_map": _map_of(_decimal),
    "ranked_list": _list_of(_string),
}
"""Coercion of each built-in field type's JSON value. ``_kind_coercer`` covers the types of plugins."""

_FIXED_KEYS: Final[Mapping[str, Callable[[Any], Any]]] = {
    "events": _list_of(_event),
    "segments": _list_of(_identifier),
}


# --- public API ---------------------------------------------------------------------


def coerce_profile(
    raw: Mapping[str, Any], registry: Registry | None = None, *, source: str | None = None
) -> dict[str, Any]:
    """Return the profile ``raw`` with every known field converted to its Python type.

    ``null`` stays ``None``. Raises ``DataError`` naming the JSON pointer of the bad
    value and ``source`` (a file name, or ``file:line``).
    """
    if not isinstance(raw, Mapping):
        raise DataError(
            f"a profile must be a JSON object, got {_describe(raw)}",
            location=Location(pointer="", source=source),
            hint='Write each profile as an object such as {"id": "17850", "city": "Hà Nội"}',
            code="profile_not_object",
        )
    registry = registry or get_registry()
    fields = registry.catalog.fields
    types = registry.types
    profile: dict[str, Any] = {}
    for key, value in raw.items():
        spec = fields.get(key)
        if spec is not None and spec.derived_from is not None:
            logger.debug("dropping derived field %r from profile %r", key, raw.get("id"))
            continue
        if key == "id":
            coerce = _identifier
        elif key in _FIXED_KEYS:
            coerce = _FIXED_KEYS[key]
        elif spec is not None and spec.type in _TYPE_COERCERS:
            coerce = _TYPE_COERCERS[spec.type]
        elif spec is not None and (kind_coercer := _kind_coercer(types.get(spec.type))) is not None:
            coerce = kind_coercer
        else:
            profile[key] = value
            continue
        profile[key] = _coerce_member(key, coerce, value, source, spec.type if spec else None)
    if profile.get("id") is None:
        raise DataError(
            "profile has no id",
            location=Location(pointer="/id", source=source),
            hint='Give every profile an "id", a string such as "17850"',
            code="profile_without_id",
        )
    return profile


def _kind_coercer(field_type: FieldType | None) -> Callable[[Any], Any] | None:
    """Return the coercion of a plugin type's values by its kinds, or ``None`` when it has none.

    The layout matches the SQL store and the evaluator. A type with a scalar kind has
    one value, a type with keyed tests is a map read by ``field[key]``, and any other
    type with a member kind is a list.
    """
    if field_type is None:
        return None
    if field_type.scalar is not None:
        return _SCALAR_COERCERS[field_type.scalar]
    if field_type.keyed is not None:
        return _map_of(_SCALAR_COERCERS[field_type.keyed])
    if field_type.member is not None:
        return _list_of(_SCALAR_COERCERS[field_type.member])
    return None


def _coerce_member(
    key: str, coerce: Callable[[Any], Any], value: Any, source: str | None, type_name: str | None
) -> Any:
    if value is None:
        return None
    try:
        return _at(key, coerce, value)
    except _Invalid as error:
        field = f"{key!r} ({type_name})" if type_name else repr(key)
        raise DataError(
            f"invalid value for {field}: {error.message}",
            location=Location(pointer=error.pointer, source=source),
            value=value,
            hint="Correct the value, or write null when the profile has none",
            code="invalid_profile_value",
            params={"field": key, "type": type_name},
        ) from None


def read_profiles_jsonl(path: str | Path, registry: Registry | None = None) -> Iterator[dict[str, Any]]:
    """Yield the coerced profiles of a JSON Lines file, one object per line.

    The file is UTF-8, with or without a byte order mark; blank lines are skipped.
    Errors name the file and the line.
    """
    path = Path(path)
    registry = registry or get_registry()
    try:
        handle = path.open("rb")
    except OSError as error:
        raise DataError(
            f"cannot read profiles: {error.strerror}",
            location=Location(source=str(path)),
            hint="Check the path of the profiles file",
            code="profiles_unreadable",
        ) from error
    first_lines: dict[str, int] = {}
    with handle:
        for number, raw_line in enumerate(handle, start=1):
            if number == 1 and raw_line.startswith(b"\xef\xbb\xbf"):
                raw_line = raw_line[3:]
            line = _decode(raw_line, path, number)
            if not line.strip():
                continue
            try:
                document = json.loads(line, parse_float=Decimal)
            except json.JSONDecodeError as error:
                raise DataError(
                    f"invalid JSON: {error.msg}",
                    location=Location(source=str(path), line=number, column=error.colno),
                    hint="Write one JSON object per line",
                    code="profiles_invalid_json",
                ) from error
            except RecursionError:
                raise DataError(
                    "invalid JSON: arrays and objects nest too deeply to read",
                    location=Location(source=str(path), line=number),
                    hint="A profile nests at most a few levels: events in a list, maps of counts",
                    code="profiles_too_deep",
                ) from None
            profile = coerce_profile(document, registry, source=f"{path}:{number}")
            first_line = first_lines.setdefault(profile["id"], number)
            if first_line != number:
                # Stores keep one row per id, so a repeated id would make backends disagree.
                raise DataError(
                    f"duplicate profile id {profile['id']!r}, first used on line {first_line}",
                    location=Location(source=str(path), line=number),
                    value=profile["id"],
                    hint="Give every profile its own id, or merge the two lines",
                    code="profiles_duplicate_id",
                )
            yield profile


def _decode(raw_line: bytes, path: Path, number: int) -> str:
    try:
        return raw_line.decode("utf-8")
    except UnicodeDecodeError as error:
        raise DataError(
            f"line is not valid UTF-8 (byte {error.start + 1})",
            location=Location(source=str(path), line=number, column=error.start + 1),
            hint="Save the file as UTF-8",
            code="profiles_not_utf8",
        ) from error


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"string {value!r}"
    if isinstance(value, (int, float, Decimal)):
        return f"number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, Mapping):
        return "an object"
    return type(value).__name__
