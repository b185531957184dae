"""Guess the columns of one table of a draft mapping, with their codes and, for orders, the status lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from segmento.adapters.ingest.model import LINE_KINDS
from segmento.adapters.shopdb.draft import (
    MAX_OTHERS,
    REFERENCE_FIELDS,
    Confidence,
    FieldDraft,
    Guess,
    Reference,
    StatusDraft,
    references,
)
from segmento.adapters.shopdb.mapping import GENDERS, TARGETS, Role, TargetSpec
from segmento.adapters.shopdb.names import (
    EDGE,
    EXACT,
    FIELD_TERMS,
    MINOR_UNIT_TERMS,
    gender_codes,
    line_kind_of,
    match_name,
    singular_forms,
    status_meaning,
    words,
)
from segmento.adapters.shopdb.schema_info import ColumnInfo, TableInfo
from segmento.adapters.shopdb.table_stats import ColumnValues, column_values

_TYPES: Final[dict[str, tuple[type[sa.types.TypeEngine[Any]], ...]]] = {
    "text": (sa.String, sa.Enum),
    "date": (sa.Date, sa.DateTime),
    "datetime": (sa.DateTime, sa.Date),
    "integer": (sa.Integer, sa.Numeric),
    "money": (sa.Numeric, sa.Integer),
}
"""Column types a field of each kind is drafted from; keys and code fields take any type."""

CODE_FIELDS: Final = frozenset({("customers", "gender"), ("products", "line_kind"), ("orders", "status")})

@dataclass(frozen=True, slots=True)
class _Candidate:
    column: str
    score: int
    confidence: Confidence
    reason: str


def draft_fields(
    connection: sa.Connection,
    role: Role,
    table: TableInfo,
    roles: Mapping[Role, Guess],
    schema: Mapping[str, TableInfo],
    watermark: Guess | None,
    *,
    exact: bool = False,
) -> tuple[list[FieldDraft], StatusDraft | None]:
    """Return the drafted fields of ``table`` in the ``role``, and the order statuses for orders.

    Code values come from every row only with ``exact`` (``table_stats.column_values``).
    """
    used = {watermark.value} if watermark is not None else set()
    key = table.primary_key[0] if len(table.primary_key) == 1 else None
    if key is not None:
        used.add(key)
    links = [link for link in references(schema) if link.table == table.name]
    fields: list[FieldDraft] = []
    statuses: StatusDraft | None = None
    for spec in TARGETS[role].values():
        candidates = _candidates(role, spec, table, roles, links, used)
        if not candidates:
            fields.append(FieldDraft(spec.name, None, todo=_todo(role, spec)))
            continue
        best = candidates[0]
        others = tuple(candidate.column for candidate in candidates[1 : 1 + MAX_OTHERS])
        guess = Guess(best.column, best.confidence, best.reason, others)
        used.add(best.column)
        column = table.columns[best.column]
        if (role, spec.name) == ("orders", "status"):
            statuses = _statuses(connection, table, column, exact)
            fields.append(FieldDraft(spec.name, guess))
        elif (role, spec.name) in CODE_FIELDS:
            fields.append(_coded(connection, table, column, spec, guess, exact))
        elif spec.kind == "money":
            fields.append(_money(column, guess))
        else:
            fields.append(FieldDraft(spec.name, guess))
    return fields, statuses


def _candidates(
    role: Role,
    spec: TargetSpec,
    table: TableInfo,
    roles: Mapping[Role, Guess],
    links: Sequence[Reference],
    used: set[str],
) -> list[_Candidate]:
    """Return the columns that could hold ``spec``, best first."""
    terms = FIELD_TERMS[role][spec.name]
    strip = sorted(singular_forms(table.name))
    referred_role = REFERENCE_FIELDS.get((role, spec.name))
    referred_table = roles[referred_role].value if referred_role in roles else None
    found: list[_Candidate] = []
    for column in table.columns.values():
        if column.name in used:
            continue
        if not _type_fits(column, role, spec):
            continue
        match = match_name(column.name, terms, strip=strip)
        # A comment mentions other tables too ("shown to the customer"), so it does not name a reference.
        comment_match = None
        if column.comment and match is None and spec.kind != "key":
            comment_match = match_name(column.comment, terms)
        link = next((link for link in links if link.column == column.name and link.target == referred_table), None)
        score = match.score if match is not None else 0
        reasons: list[str] = []
        confidence: Confidence = "low"
        if match is not None:
            reasons.append(f"name {match.describe()}")
            if match.strength == EXACT:
                confidence = "high"
            elif match.strength == EDGE:
                confidence = "medium"
        elif comment_match is not None:
            score = 50
            reasons.append(f"its comment mentions {comment_match.term!r}")
        if link is not None:
            score += 500 if link.declared else 300
            reasons.append(f"{'foreign key to' if link.declared else 'named after'} {referred_table}")
            confidence = "high" if link.declared or (match is not None and match.strength >= EDGE) else "medium"
        elif any(item.column == column.name for item in links):
            continue  # A reference to another table holds no other field.
        if not reasons:
            continue
        if role == "products" and spec.name == "code" and table.is_unique([column.name]):
            score += 50
            reasons.append("unique")
        found.append(_Candidate(column.name, score, confidence, ", ".join(reasons)))
    found.sort(key=lambda candidate: (-candidate.score, candidate.column))
    if not found and (role, spec.name) == ("orders", "placed_at"):
        found = _only_datetime(table, used)
    return found


def _type_fits(column: ColumnInfo, role: Role, spec: TargetSpec) -> bool:
    if spec.kind == "key" or (role, spec.name) in CODE_FIELDS:
        return True
    return column.is_kind(*_TYPES[spec.kind])


def _only_datetime(table: TableInfo, used: set[str]) -> list[_Candidate]:
    """Return the one date-and-time column not otherwise used, as a weak guess for the order time."""
    columns = [column.name for column in table.columns.values() if column.is_kind(sa.DateTime) and column.name not in used]
    if len(columns) != 1:
        return []
    return [_Candidate(columns[0], 1, "low", "the only other date and time column")]


def _todo(role: Role, spec: TargetSpec) -> str:
    examples = ", ".join(FIELD_TERMS[role][spec.name][:3])
    required = "required; " if spec.required else ""
    return f"{required}no column looks like {spec.name} (names such as {examples})"


# --- codes, statuses, money -----------------------------------------------------------------


def _values(connection: sa.Connection, table: TableInfo, column: ColumnInfo, exact: bool) -> ColumnValues | None:
    """Return the values of a code column: its ``ENUM`` values, or its distinct values when there are few.

    Returns ``None`` when they could not be read.
    """
    if column.enum_values is not None:
        return ColumnValues(list(column.enum_values))
    try:
        found = column_values(connection, table, column.name, exact=exact)
    except sa.exc.SQLAlchemyError:
        return None
    if found.values is None:
        return ColumnValues(None, found.sample)
    return ColumnValues(sorted(str(value) for value in found.values), found.sample)


def _coded(
    connection: sa.Connection, table: TableInfo, column: ColumnInfo, spec: TargetSpec, guess: Guess, exact: bool
) -> FieldDraft:
    """Return a gender or line kind field with the codes of the column's values."""
    found = _values(connection, table, column, exact)
    values = found.values if found is not None else None
    sample = found.sample if found is not None and values is not None else None
    sample_note = (
        f"the codes of {table.name}.{column.name} were read from {sample}; check them, or draft with --exact"
        if sample is not None
        else None
    )
    allowed = GENDERS if spec.name == "gender" else LINE_KINDS
    if values is not None and values and all(value in allowed for value in values):
        return FieldDraft(spec.name, guess, note="its values are already segmento's", sample_note=sample_note)
    if spec.name == "gender":
        codes = gender_codes(column.comment, values)
        unknown = tuple(value for value in values or () if value not in codes)
    else:
        codes = {}
        for value in values or ():
            kind = line_kind_of(value)
            if kind is not None:
                codes[value] = kind
        unknown = tuple(value for value in values or () if value not in codes)
    if not codes:
        seen = f"values {', '.join(values[:10])}" if values else "its values could not be read"
        todo = f"column {column.name} looks like {spec.name}, but the meaning of its codes is unknown ({seen}); write codes:"
        return FieldDraft(spec.name, None, todo=todo, unknown_codes=tuple(values or ()), sample_note=sample_note)
    if spec.name == "gender" and gender_codes(column.comment, None):
        source = "the column comment"
    else:
        source = "its ENUM values" if column.enum_values is not None else "its distinct values"
    note = f"codes read from {source}"
    if sample is not None:
        note += f" in {sample}"
    # A gender code not listed becomes unknown instead of rejecting the customer.
    return FieldDraft(
        spec.name,
        guess,
        codes=codes,
        unknown_codes=unknown,
        default_null=spec.name == "gender",
        note=note,
        sample_note=sample_note,
    )


def _statuses(connection: sa.Connection, table: TableInfo, column: ColumnInfo, exact: bool) -> StatusDraft:
    found = _values(connection, table, column, exact)
    if found is None or found.values is None:
        return StatusDraft(known=False)
    sorted_values: dict[str, list[str]] = {"skip": [], "returns": [], "sale": [], "unsure": []}
    for value in found.values:
        sorted_values[status_meaning(value) or "unsure"].append(value)
    return StatusDraft(
        tuple(sorted_values["skip"]),
        tuple(sorted_values["returns"]),
        tuple(sorted_values["sale"]),
        tuple(sorted_values["unsure"]),
        sample=found.sample,
    )


def _money(column: ColumnInfo, guess: Guess) -> FieldDraft:
    if not column.is_kind(sa.Integer):
        return FieldDraft("unit_price", guess, note="DECIMAL, read as is")
    if any(word in MINOR_UNIT_TERMS for word in words(column.name)):
        return FieldDraft("unit_price", guess, scale=2, note="an integer of cents, so scale: 2")
    return FieldDraft(
        "unit_price",
        guess,
        note="an integer read as whole amounts (right for VND); if it holds cents, write {column: ..., scale: 2}",
    )
