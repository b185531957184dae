"""Checks of leaf conditions (field tests and event tests) against the registry.

Used by ``segmento.engine.validation``. Each problem is a ``RuleSemanticError`` whose
location points at the member at fault (a JSON pointer, or the DSL line and column of
the leaf, or of the value for a problem of the value) and whose hint names what is allowed.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from segmento.engine.ast import Comparison, EventCondition, Node
from segmento.engine.catalog import FieldSpec, closest
from segmento.engine.errors import Location, RuleSemanticError
from segmento.engine.jsonform_messages import show
from segmento.engine.operators import OperatorSpec
from segmento.engine.registry import Registry
from segmento.engine.text import fold_for
from segmento.engine.types import FieldType, ScalarKind, coerce_scalar
from segmento.engine.validation_events import event_problems
from segmento.engine.validation_values import (
    at,
    bounds_order_problems,
    duration_problems,
    name_list,
    period_problems,
    problem,
    repeated_key_problems,
    shape_problem,
    unknown_operator_problem,
    value_location,
    whole_number_problems,
)
from segmento.engine.validation_wording import operator_label, operator_labels, option_label

MONTHS: Final = range(1, 13)
BIRTHDAY_DAYS: Final = range(0, 367)
"""Days ahead that ``birthday_in_next`` accepts: 0 (today) to a full leap year."""

# These operators compare the whole stored text, so on a field with allowed values the
# rule value must be one of them. contains and starts_with take fragments instead.
_WHOLE_VALUE_OPERATORS: Final = frozenset({"eq", "ne", "in", "not_in", "contains_any", "contains_all", "contains_none"})

# On a datetime field these operators also take a date, meaning that local calendar day.
_DATETIME_FIELD_KINDS: Final[dict[str, tuple[ScalarKind, ...]]] = {
    "before": ("datetime", "date"),
    "after": ("datetime", "date"),
    "on": ("date",),
}

_KIND_EXAMPLES: Final[dict[str, str]] = {
    "string": 'text such as "Hà Nội"',
    "integer": "a whole number such as 3",
    "decimal": "a number such as 5000000 or 19.99",
    "boolean": "true or false",
    "date": "a date such as 2024-01-31",
    "datetime": "a date and time such as 2024-01-31T09:00:00",
}


class LeafChecker:
    """Check field tests and event tests against one registry."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def check(self, leaf: Node) -> list[RuleSemanticError]:
        """Return every problem of one leaf condition."""
        if isinstance(leaf, Comparison):
            return list(self._comparison(leaf))
        if isinstance(leaf, EventCondition):
            return list(event_problems(leaf, self.registry))
        return [problem(f"unknown kind of condition {type(leaf).__name__}", leaf.loc, "unknown_condition_kind")]

    # --- field tests --------------------------------------------------------------------

    def _comparison(self, leaf: Comparison) -> Iterator[RuleSemanticError]:
        spec = self.registry.catalog.fields.get(leaf.field)
        if spec is None:
            yield self._unknown_field(leaf)
            return

        # A derived field (age from birthday) has a type of its own, checked as any field of that type.
        field_type = self.registry.types.get(spec.type)
        if field_type is None:
            yield problem(
                f'field "{spec.name}" has unknown type "{spec.type}"',
                at(leaf.loc, "field"),
                "unknown_field_type",
                value=spec.type,
                hint="Check the field catalog; the plugin that defines this type may be missing",
            )
            return

        allowed = field_type.keyed_operators if leaf.include is not None else field_type.operators
        operator = self.registry.operators.get(leaf.operator)
        if operator is None:
            yield unknown_operator_problem(leaf.operator, allowed, self.registry.operators, leaf.loc)
            return

        if leaf.include is not None:
            include_problem = self._include_problem(leaf, spec, field_type)
            if include_problem is not None:
                yield include_problem
                if field_type.keyed is None:
                    return
            yield from repeated_key_problems(
                leaf.include, at(leaf.loc, "include"), f"the include list of {spec.name}", "key", field=spec.name
            )
        if leaf.operator not in allowed:
            yield self._operator_not_allowed(leaf, spec, field_type, allowed)
            return

        if leaf.include is not None:
            kind = field_type.keyed
        else:
            kind = field_type.member if operator.member_values else field_type.scalar
        yield from self._text_options(leaf, spec, operator, kind)
        yield from self._comparison_value(leaf, spec, operator, kind)

    def _unknown_field(self, leaf: Comparison) -> RuleSemanticError:
        catalog = self.registry.catalog
        suggestion = catalog.suggest_field(leaf.field)
        if suggestion:
            hint = f'Did you mean "{suggestion}"?'
        else:
            hint = "Use a field of the catalog: " + name_list(catalog.fields)
        return problem(
            f'unknown field "{leaf.field}"',
            at(leaf.loc, "field"),
            "unknown_field",
            value=leaf.field,
            hint=hint,
            field=leaf.field,
            suggestion=suggestion,
        )

    def _include_problem(self, leaf: Comparison, spec: FieldSpec, field_type: FieldType) -> RuleSemanticError | None:
        if field_type.keyed is None:
            return problem(
                f'field "{spec.name}" of type {field_type.name} has no keys, so it takes no include list',
                at(leaf.loc, "include"),
                "include_not_allowed",
                value=list(leaf.include or ()),
                hint="Remove the include list; include applies to map and ranked fields such as product_views",
                field=spec.name,
                type=field_type.name,
            )
        if not leaf.include:
            return problem(
                "the include list is empty",
                at(leaf.loc, "include"),
                "empty_include",
                hint=f"List the keys of {spec.name} that the test is about, or remove the include list",
                field=spec.name,
            )
        return None

    def _operator_not_allowed(
        self, leaf: Comparison, spec: FieldSpec, field_type: FieldType, allowed: frozenset[str]
    ) -> RuleSemanticError:
        label = operator_label(leaf.operator, leaf.loc)
        if leaf.include is None and leaf.operator in field_type.keyed_operators:
            hint = f"{label} on {spec.name} needs an include list of the keys to compare"
        elif leaf.include is not None and leaf.operator in field_type.operators:
            hint = f"{label} takes no include list; remove it"
        else:
            hint = f"Operators allowed here: {operator_labels(allowed, leaf.loc)}"
        return problem(
            f'operator "{label}" is not allowed on field "{spec.name}" of type {field_type.name}',
            at(leaf.loc, "operator"),
            "operator_not_allowed",
            value=leaf.operator,
            hint=hint,
            operator=leaf.operator,
            field=spec.name,
            type=field_type.name,
            allowed=sorted(allowed),
        )

    def _text_options(
        self, leaf: Comparison, spec: FieldSpec, operator: OperatorSpec, kind: ScalarKind | None
    ) -> Iterator[RuleSemanticError]:
        if leaf.options.exact:
            return
        option = "ignore_case" if leaf.options.ignore_case else "ignore_accents"
        written = option_label(option, leaf.loc)
        if not operator.text_options:
            eq, in_list, contains = (operator_label(name, leaf.loc) for name in ("eq", "in", "contains"))
            yield problem(
                f'{written} does not apply to operator "{operator_label(operator.name, leaf.loc)}"',
                at(leaf.loc, option),
                "text_options_not_allowed",
                hint=f"Remove the option; it applies to text comparisons such as {eq}, {in_list} and {contains}",
                option=option,
                operator=operator.name,
            )
        elif kind != "string":
            yield problem(
                f'{written} applies to text, but field "{spec.name}" is of type {spec.type}',
                at(leaf.loc, option),
                "text_options_not_allowed",
                hint="Remove the option",
                option=option,
                field=spec.name,
            )

    def _comparison_value(
        self, leaf: Comparison, spec: FieldSpec, operator: OperatorSpec, kind: ScalarKind | None
    ) -> Iterator[RuleSemanticError]:
        where = value_location(leaf)
        value = leaf.value
        wrong_shape = shape_problem(operator, value, where)
        if wrong_shape is not None:
            yield wrong_shape
        elif operator.shape == "duration":
            yield from duration_problems(value, where)
        elif operator.shape == "period":
            yield from period_problems(value, where)
        elif operator.shape == "month":
            yield from whole_number_problems(value, MONTHS, where, "month_out_of_range", "a month from 1 to 12")
        elif operator.shape == "days":
            yield from whole_number_problems(
                value, BIRTHDAY_DAYS, where, "days_out_of_range", "a number of days from 0 to 366"
            )
        elif operator.shape in ("scalar", "pair", "list") and kind is not None:
            yield from self._typed_values(leaf, spec, operator, kind, where)

    def _typed_values(
        self, leaf: Comparison, spec: FieldSpec, operator: OperatorSpec, kind: ScalarKind, where: Location
    ) -> Iterator[RuleSemanticError]:
        kinds = _DATETIME_FIELD_KINDS.get(operator.name, (kind,)) if kind == "datetime" else (kind,)
        if isinstance(leaf.value, tuple):
            items = [(item, value_location(leaf, index)) for index, item in enumerate(leaf.value)]
        else:
            items = [(leaf.value, where)]
        converted = []
        for item, place in items:
            result, wrong_type = self._typed(item, kinds, spec, place)
            if wrong_type is not None:
                yield wrong_type
                continue
            converted.append(result)
            if isinstance(result, str) and leaf.include is None:
                yield from self._allowed_value(leaf, spec, result, place)
        if operator.shape == "pair" and len(converted) == 2:
            yield from bounds_order_problems(converted[0], converted[1], where)

    def _typed(
        self, value: Any, kinds: tuple[ScalarKind, ...], spec: FieldSpec, location: Location
    ) -> tuple[Any, RuleSemanticError | None]:
        """Return ``value`` converted to the first of ``kinds`` it fits, or the problem when it fits none."""
        first_reason: TypeError | None = None
        for kind in kinds:
            try:
                return coerce_scalar(kind, value), None
            except TypeError as error:
                first_reason = first_reason or error
        if kinds[0] in ("integer", "decimal") and isinstance(value, str) and _is_number_text(value):
            hint = f"Write {value} as a number, without quotes"
        elif kinds[0] == "integer" and isinstance(value, Decimal):
            hint = f"Field {spec.name} holds whole numbers; use a whole number"
        else:
            hint = "Give " + " or ".join(_KIND_EXAMPLES[kind] for kind in kinds)
        return None, problem(
            f'{show(value)} does not fit field "{spec.name}" of type {spec.type}: {first_reason}',
            location,
            "wrong_value_type",
            value=value,
            hint=hint,
            field=spec.name,
            type=spec.type,
            expected=list(kinds),
        )

    def _allowed_value(
        self, leaf: Comparison, spec: FieldSpec, value: str, location: Location
    ) -> Iterator[RuleSemanticError]:
        if spec.allowed_values is None or leaf.operator not in _WHOLE_VALUE_OPERATORS:
            return
        case, accents = leaf.options.ignore_case, leaf.options.ignore_accents
        if fold_for(value, case, accents) in {fold_for(item, case, accents) for item in spec.allowed_values}:
            return
        suggestion = closest(value, spec.allowed_values)
        prefix = f'Did you mean "{suggestion}"? ' if suggestion else ""
        yield problem(
            f'{show(value)} is not a value of field "{spec.name}"',
            location,
            "value_not_allowed",
            value=value,
            hint=f"{prefix}{spec.name} is one of: {', '.join(spec.allowed_values)}",
            field=spec.name,
            allowed=list(spec.allowed_values),
            suggestion=suggestion,
        )


def _is_number_text(text: str) -> bool:
    try:
        return Decimal(text.replace("_", "")).is_finite()
    except InvalidOperation:
        return False
