"""The SQL target: a segment in, a SQLAlchemy ``Select`` of member ids out.

Every positive condition is two-valued (true or false, never NULL), so the base's
``NOT`` of a positive condition is the exact complement even on missing values. Rule
values only ever become bound parameters.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from segmento.engine.ast import EXACT, Comparison, Condition, EventCondition, Segment, SegmentRef, TextOptions
from segmento.engine.catalog import FieldSpec
from segmento.engine.compiler import Compiler
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import Registry
from segmento.engine.temporal import DEFAULT_TIMEZONE
from segmento.engine.text import fold_for
from segmento.plugins.sql import lists
from segmento.plugins.sql.context import SqlContext
from segmento.plugins.sql.dialects import dialect_name, rendering_dialect
from segmento.plugins.sql.events import MEASURE_KINDS, event_condition
from segmento.plugins.sql.model import ProfileModel
from segmento.plugins.sql.operators import age_condition
from segmento.plugins.sql.selection import MemberQuery, anti_join, member_query

logger = logging.getLogger(__name__)

_AGE_OPERATORS = frozenset({"eq", "gt", "gte", "lt", "lte", "between", "in", "is_set"})
_EVENT_OPERATORS = frozenset({"eq", "gt", "gte", "lt", "lte", "between"})
_MEMBER_OPERATORS = frozenset({"contains_any", "contains_all", "is_empty"})


class SqlCompiler(Compiler[ColumnElement[bool]]):
    """Compiles rules to SQLAlchemy conditions on the tables of a ``ProfileModel``.

    ``dialect`` names the database the query is for. The condition itself uses only
    constructs that every supported dialect renders (see ``dialects``), and plugin
    operators get the dialect in their ``SqlContext``.
    """

    target = "sql"

    def __init__(
        self,
        model: ProfileModel,
        registry: Registry | None = None,
        *,
        dialect: str = "sqlite",
        as_of: datetime | None = None,
        timezone: str | tzinfo = DEFAULT_TIMEZONE,
    ) -> None:
        super().__init__(registry or model.registry, as_of=as_of, timezone=timezone)
        self.model = model
        self.dialect = dialect_name(dialect)

    # --- combinators ----------------------------------------------------------------

    def all_of(self, parts: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        return sa.and_(sa.true(), *parts)

    def any_of(self, parts: Sequence[ColumnElement[bool]]) -> ColumnElement[bool]:
        return sa.or_(sa.false(), *parts)

    def negate(self, part: ColumnElement[bool]) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            return anti_join(part, self.model)
        return sa.not_(part)

    # --- leaves ---------------------------------------------------------------------

    def compile_comparison(self, node: Comparison, operator: OperatorSpec, field: FieldSpec) -> ColumnElement[bool]:
        field_type = self.field_type(field)
        allowed = field_type.keyed_operators if node.include is not None else field_type.operators
        if node.operator not in allowed:
            reason = f"field {field.name!r} of type {field_type.name!r} does not allow it"
            raise self.unsupported(node, node.operator, reason)
        options = node.options if operator.text_options else EXACT
        if field.derived_from is not None:
            return self._derived(node, operator, field)
        if field_type.scalar is not None:
            return self._scalar(node, operator, field, options)
        return self._collection(node, operator, field, options)

    def _collection(
        self, node: Comparison, operator: OperatorSpec, field: FieldSpec, options: TextOptions
    ) -> ColumnElement[bool]:
        members = self.model.collections.get(field.name)
        if members is None:
            raise self.unsupported(node, operator.name, self._missing_reason(field.name))
        profile_id = self.model.profiles.c.id
        if node.include is not None:
            return lists.keyed(members, node.include, operator.name, node.value, profile_id)
        if operator.name == "is_empty":
            return lists.is_empty(members, profile_id)
        if operator.name not in _MEMBER_OPERATORS:
            raise self.unsupported(node, operator.name, f"on the list or map field {field.name!r}")
        values = tuple(node.value)
        if members.member == "string":
            values = _folded(values, options)
        if operator.name == "contains_any":
            return lists.contains_any(members, values, options, profile_id)
        return lists.contains_all(members, values, options, profile_id)

    def _scalar(
        self, node: Comparison, operator: OperatorSpec, field: FieldSpec, options: TextOptions
    ) -> ColumnElement[bool]:
        implementation = self.implementation(node, operator)
        if implementation is None:
            raise self.unsupported(node, operator.name, "no plugin implements it for SQL")
        kind = self.model.scalar_kinds.get(field.name)
        if kind is None:
            raise self.unsupported(node, operator.name, self._missing_reason(field.name))
        value = _folded(node.value, options) if kind == "string" else node.value
        context = SqlContext(self.dialect, self.clock, field, kind, node, self.model)
        return implementation.function(self.model.column(field.name, options), value, options, context)

    def _missing_reason(self, field: str) -> str:
        reason = self.model.skipped.get(field, "the profile model was built from another field catalog")
        return f"field {field!r} has no SQL column: {reason}"

    def _derived(self, node: Comparison, operator: OperatorSpec, field: FieldSpec) -> ColumnElement[bool]:
        source = field.derived_from or ""
        if self.model.scalar_kinds.get(source) != "date" or operator.name not in _AGE_OPERATORS:
            raise self.unsupported(node, operator.name, f"on the derived field {field.name!r}")
        context = SqlContext(self.dialect, self.clock, field, "date", node, self.model)
        return age_condition(self.model.column(source), operator.name, node.value, context)

    def compile_event(self, node: EventCondition, operator: OperatorSpec) -> ColumnElement[bool]:
        if operator.name not in _EVENT_OPERATORS:
            raise self.unsupported(node, operator.name, "on an event count or sum")
        if node.aggregate == "sum" and (node.measure or "value") not in MEASURE_KINDS:
            raise self.unsupported(node, operator.name, f"events have no measure {node.measure!r}")
        return event_condition(node, operator.name, self.model, self.clock)

    def compile_segment_ref(self, node: SegmentRef) -> ColumnElement[bool]:
        memberships = self.model.memberships
        return sa.exists().where(
            memberships.c.profile_id == self.model.profiles.c.id,
            memberships.c.segment_id == node.segment,
        )


def _folded(value: Any, options: TextOptions) -> Any:
    """Return string rule values in the form the text options compare."""
    if options.exact:
        return value
    if isinstance(value, tuple):
        return tuple(_folded(item, options) for item in value)
    if isinstance(value, str):
        return fold_for(value, options.ignore_case, options.ignore_accents)
    return value


# --- public entry points ----------------------------------------------------------------


def compile_segment(
    segment: Segment | Condition,
    model: ProfileModel,
    *,
    dialect: str = "sqlite",
    as_of: datetime | None = None,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
    registry: Registry | None = None,
) -> MemberQuery:
    """Return the statement that selects the ids (column ``id``) of the profiles in ``segment`` as of ``as_of``.

    It is ``SELECT profiles.id FROM profiles WHERE ...``, or a query on member or
    events tables alone when the rule is a semijoin on them (``selection``). Raises ``UnsupportedError`` naming the location, operator and target when a
    condition cannot be expressed in SQL.
    """
    compiler = SqlCompiler(model, registry, dialect=dialect, as_of=as_of, timezone=timezone)
    return member_query(compiler.compile(segment), model)


@dataclass(frozen=True, slots=True)
class RenderedQuery:
    """SQL text with ``:name`` placeholders, and the value of each placeholder."""

    sql: str
    parameters: dict[str, Any]

    def __str__(self) -> str:
        lines = [self.sql.rstrip() + ";"]
        if self.parameters:
            lines.append("-- parameters:")
            # JSON escapes line breaks, so a value cannot end the comment and become SQL.
            lines.extend(f"--   :{name} = {_display(value)}" for name, value in self.parameters.items())
        return "\n".join(lines)


def render_query(statement: MemberQuery, dialect: str) -> RenderedQuery:
    """Render ``statement`` for ``dialect`` without putting any value into the SQL text."""
    compiled = statement.compile(dialect=rendering_dialect(dialect), compile_kwargs={"render_postcompile": True})
    sql = str(compiled)
    parameters = compiled.params

    def first_use(name: str) -> int:
        found = re.search(rf":{re.escape(name)}\b", sql)
        return found.start() if found else len(sql)

    return RenderedQuery(sql, {name: parameters[name] for name in sorted(parameters, key=first_use)})


def compile_to_text(
    segment: Segment | Condition,
    model: ProfileModel,
    dialect: str = "sqlite",
    *,
    as_of: datetime | None = None,
    timezone: str | tzinfo = DEFAULT_TIMEZONE,
) -> str:
    """Return the SQL of ``segment`` for ``dialect``, its parameters listed after it as comments.

    Decimal parameters are shown as the rule writes them; on SQLite they are bound as
    integer 1/10 000 units, as the columns store them.
    """
    statement = compile_segment(segment, model, dialect=dialect, as_of=as_of, timezone=timezone)
    return str(render_query(statement, dialect))


def _display(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_display(item) for item in value) + "]"
    if isinstance(value, (datetime, date)):
        return json.dumps(value.isoformat())
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value, ensure_ascii=False, default=str)
