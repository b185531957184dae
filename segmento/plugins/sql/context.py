"""Context of an SQL operator implementation: the rule, field and database it compiles for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.sql.elements import ColumnElement

from segmento.engine.ast import Comparison, TextOptions
from segmento.engine.catalog import FieldSpec
from segmento.engine.temporal import Clock
from segmento.engine.types import ScalarKind
from segmento.plugins.sql.dialects import DialectName

if TYPE_CHECKING:
    from segmento.plugins.sql.model import ProfileModel


@dataclass(frozen=True, slots=True)
class SqlContext:
    """The rule, field and database an operator implementation compiles for.

    ``kind`` is the scalar kind of the field's column. ``clock`` turns windows, periods
    and local dates into UTC bounds. ``dialect`` is the database the query is built for;
    the same expression must still mean the same on the other supported dialects.
    """

    dialect: DialectName
    clock: Clock
    field: FieldSpec
    kind: ScalarKind
    node: Comparison
    model: ProfileModel


SqlOperator = Callable[[ColumnElement[Any], Any, TextOptions, SqlContext], ColumnElement[bool]]
"""``(column, rule_value, options, context) -> condition`` of one positive operator.

``column`` is the ``profiles`` column of the field, or its prepared form (``_ci``,
``_ai``, ``_ci_ai``) when ``options`` ask to ignore case or accents. String rule values
are then folded the same way (``text.fold_for``). The condition must be false, never
NULL, when the column is NULL, so that the negative operator is its exact complement.
"""
