"""Field catalog: the profile fields and event kinds that rules may name.

Plugins add fields through the ``segmento_fields`` hook. A team can also describe its
own profile schema in a JSON or YAML file, without code::

    fields:
      city: string
      lifetime_value: {type: decimal, description: "Total spent, VND"}
      age: {type: integer, derived_from: birthday}
    events: [page_view, product_view, add_to_cart, purchase]
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Literal

from segmento.engine.errors import DataError, Location

DerivedKind = Literal["age"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """One profile field.

    ``type`` names a registered ``FieldType``. ``derived_from`` names the stored field
    a virtual field is computed from at evaluation time (``age`` from ``birthday``).
    ``allowed_values`` lists the only values a string field can hold, when it is an enum.
    """

    name: str
    type: str
    description: str = ""
    derived_from: str | None = None
    allowed_values: tuple[str, ...] | None = None
    plugin: str = "builtin"


EVENT_MEASURES: Final[tuple[str, ...]] = ("value", "quantity", "price")
"""Event properties a ``sum`` can add up. ``value`` is price × quantity."""


@dataclass(frozen=True, slots=True)
class EventSpec:
    """A kind of tracked event that behavioural conditions may count."""

    name: str
    description: str = ""
    plugin: str = "builtin"


@dataclass
class Catalog:
    """Fields and event kinds by name. Built by the plugin manager, then extended from files."""

    fields: dict[str, FieldSpec] = field(default_factory=dict)
    events: dict[str, EventSpec] = field(default_factory=dict)

    def add_field(self, spec: FieldSpec) -> None:
        self.fields[spec.name] = spec

    def add_event(self, spec: EventSpec) -> None:
        self.events[spec.name] = spec

    def field_names(self) -> list[str]:
        return sorted(self.fields)

    def suggest_field(self, name: str) -> str | None:
        """Return the known field name closest to ``name``, for a did-you-mean hint."""
        return closest(name, self.fields)

    def suggest_event(self, name: str) -> str | None:
        return closest(name, self.events)

    def extended(self, specs: Iterable[FieldSpec], events: Iterable[EventSpec] = ()) -> Catalog:
        """Return a copy with ``specs`` and ``events`` added; later specs replace earlier ones."""
        copy = Catalog(dict(self.fields), dict(self.events))
        for spec in specs:
            copy.add_field(spec)
        for event in events:
            copy.add_event(event)
        return copy


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """Return the candidate most similar to ``name``, or ``None`` when none is close."""
    matches = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return matches[0] if matches else None


def load_catalog_file(path: str | Path) -> tuple[list[FieldSpec], list[EventSpec]]:
    """Read field and event definitions from a JSON or YAML catalog file.

    Raises ``DataError`` naming the file and the entry when the file is malformed.
    Type names are checked later, against the registered types, by ``Registry.load_catalog``.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as error:
        raise DataError(
            f"cannot read field catalog: {error.strerror}",
            location=Location(source=str(path)),
            hint="Check the path given with --fields",
        ) from error
    document = _parse_catalog_text(path, text)
    raw_fields = document.get("fields", {})
    if not isinstance(raw_fields, Mapping):
        raise DataError(
            "'fields' must map field names to types",
            location=Location(pointer="/fields", source=str(path)),
        )
    specs = [_field_from_entry(path, str(name), entry) for name, entry in raw_fields.items()]
    raw_events = document.get("events", [])
    if not isinstance(raw_events, list) or not all(isinstance(item, str) for item in raw_events):
        raise DataError(
            "'events' must be a list of event kind names",
            location=Location(pointer="/events", source=str(path)),
        )
    events = [EventSpec(name, plugin=f"file:{path.name}") for name in raw_events]
    return specs, events


def _parse_catalog_text(path: Path, text: str) -> Mapping[str, Any]:
    try:
        if path.suffix.lower() == ".json":
            document = json.loads(text)
        else:
            import yaml

            document = yaml.safe_load(text)
    except (ValueError, ImportError) as error:
        line = getattr(error, "lineno", None) or getattr(getattr(error, "problem_mark", None), "line", None)
        raise DataError(
            f"field catalog is not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {error}",
            location=Location(source=str(path), line=line),
        ) from error
    if not isinstance(document, Mapping):
        raise DataError(
            "field catalog must be a mapping with a 'fields' key",
            location=Location(pointer="", source=str(path)),
        )
    return document


def _field_from_entry(path: Path, name: str, entry: Any) -> FieldSpec:
    location = Location(pointer="/fields", source=str(path)).child(name)
    if isinstance(entry, str):
        return FieldSpec(name, entry, plugin=f"file:{path.name}")
    if not isinstance(entry, Mapping) or not isinstance(entry.get("type"), str):
        raise DataError(
            f"field {name!r} needs a type",
            location=location,
            value=entry,
            hint='Write the type as a string ("city: string") or as {type: ..., description: ...}',
        )
    allowed = entry.get("allowed_values")
    return FieldSpec(
        name,
        entry["type"],
        description=str(entry.get("description", "")),
        derived_from=entry.get("derived_from"),
        allowed_values=tuple(str(item) for item in allowed) if allowed else None,
        plugin=f"file:{path.name}",
    )
