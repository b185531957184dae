"""Turn coerced profiles into rows of a ``ProfileModel``'s tables, ready for batch inserts.

Every value is checked against what its column can store exactly, so a profile is
either stored with the values the evaluator reads or rejected with a ``DataError``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from segmento.engine.errors import DataError, Location
from segmento.engine.text import FOLD_SUFFIXES, prepared_forms
from segmento.engine.types import ScalarKind, coerce_scalar
from segmento.plugins.sql.model import CollectionTable, ProfileModel
from segmento.plugins.sql.types import check_decimal, check_integer

logger = logging.getLogger(__name__)

Row = dict[str, Any]


@dataclass
class ProfileRows:
    """Rows of a batch of profiles, by table name.

    ``ids`` are the profiles whose rows the batch replaces. ``ids_with_segments`` are
    those whose memberships it replaces too, because they list their ``segments``.
    """

    ids: list[str] = field(default_factory=list)
    ids_with_segments: list[str] = field(default_factory=list)
    tables: dict[str, list[Row]] = field(default_factory=dict)

    def add(self, table: str, row: Row) -> None:
        self.tables.setdefault(table, []).append(row)


def profile_rows(profiles: Mapping[str, Mapping[str, Any]], model: ProfileModel) -> ProfileRows:
    """Return the rows of ``profiles`` (coerced profiles by id) for the tables of ``model``."""
    rows = ProfileRows()
    for profile_id, profile in profiles.items():
        rows.ids.append(profile_id)
        _add_profile(rows, profile_id, profile, model)
    return rows


def _add_profile(rows: ProfileRows, profile_id: str, profile: Mapping[str, Any], model: ProfileModel) -> None:
    row: Row = {"id": profile_id}
    for name, kind in model.scalar_kinds.items():
        value = _scalar(profile_id, (name,), kind, profile.get(name))
        row[name] = value
        if kind == "string":
            for suffix, form in _forms(value).items():
                row[f"{name}{suffix}"] = form
    rows.add(model.profiles.name, row)

    for name, members in model.collections.items():
        for member_row in _member_rows(profile_id, members, profile.get(name)):
            rows.add(members.table.name, member_row)

    for index, event in enumerate(profile.get("events") or ()):
        rows.add(model.events.name, _event_row(profile_id, index, event))

    if "segments" in profile:
        rows.ids_with_segments.append(profile_id)
        for segment_id in dict.fromkeys(profile.get("segments") or ()):
            rows.add(model.memberships.name, {"profile_id": profile_id, "segment_id": str(segment_id)})


_NO_FORMS: Final[dict[str, str | None]] = dict.fromkeys(FOLD_SUFFIXES.values())


def _forms(value: str | None) -> Mapping[str, str | None]:
    if value is None:
        return _NO_FORMS
    return _cached_forms(value)


# Keys, categories and cities repeat across profiles, and folding is the costliest step
# of building rows.
@functools.lru_cache(maxsize=65536)
def _cached_forms(value: str) -> Mapping[str, str | None]:
    return prepared_forms(value)


def _scalar(profile_id: str, path: tuple[str | int, ...], kind: ScalarKind, value: Any) -> Any:
    """Return ``value`` checked for a column of ``kind``. ``path`` locates it in the profile."""
    if value is None:
        return None
    try:
        value = coerce_scalar(kind, value)
    except TypeError as error:
        raise _invalid(profile_id, path, value, str(error)) from None
    problem: str | None = None
    if kind == "decimal":
        problem = check_decimal(Decimal(value))
    elif kind == "integer":
        problem = check_integer(value)
    elif kind == "string" and "\x00" in value:
        problem = "text with a NUL character cannot be stored"
    elif kind == "datetime" and not isinstance(value, datetime):
        problem = "expected a date and time"
    if problem is not None:
        raise _invalid(profile_id, path, value, problem)
    return value


def _member_rows(profile_id: str, members: CollectionTable, value: Any) -> list[Row]:
    if not value:
        return []
    name = members.field
    if members.layout == "map":
        if not isinstance(value, Mapping):
            raise _invalid(profile_id, (name,), value, "expected an object of keys to values")
        items = list(value.items())
    else:
        if isinstance(value, (str, bytes, Mapping)) or not hasattr(value, "__iter__"):
            raise _invalid(profile_id, (name,), value, "expected a list")
        items = [(member, None) for member in value]
    result: list[Row] = []
    for rank, (key, map_value) in enumerate(items, start=1):
        row: Row = {"profile_id": profile_id, "rank": rank}
        path = (name, key) if members.layout == "map" else (name, rank - 1)
        row["key"] = _scalar(profile_id, path, members.member, key)
        if members.member == "string":
            for suffix, form in _forms(row["key"]).items():
                row[f"key{suffix}"] = form
        if members.value is not None:
            checked = _scalar(profile_id, path, members.value, map_value)
            if checked is None:
                raise _invalid(profile_id, path, map_value, "a map value cannot be null")
            row["value"] = checked
        result.append(row)
    return result


_EVENT_KINDS: dict[str, ScalarKind] = {
    "kind": "string",
    "time": "datetime",
    "product_id": "string",
    "category": "string",
    "price": "decimal",
    "quantity": "decimal",
    "value": "decimal",
}


def _event_row(profile_id: str, index: int, event: Mapping[str, Any]) -> Row:
    row: Row = {"profile_id": profile_id}
    for name, kind in _EVENT_KINDS.items():
        row[name] = _scalar(profile_id, ("events", index, name), kind, event.get(name))
    for required in ("kind", "time"):
        if row[required] is None:
            raise _invalid(profile_id, ("events", index, required), None, f"an event needs a {required}")
    return row


def _invalid(profile_id: str, path: tuple[str | int, ...], value: Any, problem: str) -> DataError:
    pointer = Location(pointer="").child(*path).pointer or ""
    logger.debug("profile %r rejected at %s: %s", profile_id, pointer, problem)
    return DataError(
        f"profile {profile_id!r}: cannot store {pointer}: {problem}",
        location=Location(pointer=pointer),
        value=value,
        hint="Correct the value in the profile; decimals keep at most 4 decimal places",
        code="profile_value_unstorable",
        params={"profile": profile_id, "pointer": pointer},
    )
