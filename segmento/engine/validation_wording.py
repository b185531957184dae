"""The names that validation messages give operators, text options and value shapes.

Problems of a rule read from DSL text use the words the DSL writes (``>``,
``contains any``, ``ignoring case``). Problems of a rule read from JSON, or built in
code, use the JSON names (``gt``, ``contains_any``, ``ignore_case``). The location of a
node read from DSL text has a line and no JSON pointer, which is how the two differ.
``params`` of an error keep the JSON names either way, for programs and the
translation catalogue.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from segmento.engine.dsl.lexicon import OPERATOR_PHRASES
from segmento.engine.errors import Location

# Labels of the DSL's operators. Two operators that share a phrase get the kind of value that tells them apart.
_DSL_LABELS: Final[dict[str, str]] = OPERATOR_PHRASES | {
    "in": "in [...]",
    "not_in": "not in [...]",
    "in_period": "in PERIOD",
    "not_in_period": "not in PERIOD",
}
_DSL_ORDER: Final[dict[str, int]] = {name: index for index, name in enumerate(OPERATOR_PHRASES)}

_DSL_OPTIONS: Final[dict[str, str]] = {
    "ignore_case": "ignoring case",
    "ignore_accents": "ignoring accents",
}

_SHAPE_WORDS: Final[dict[str, str]] = {
    "scalar": "one value",
    "pair": "two bounds, lower then upper",
    "list": "a list of values",
    "duration": "a duration such as 7 days",
    "period": "a calendar period such as this_month",
    "month": "a month number from 1 to 12",
    "days": "a number of days from 0 to 366",
}
_DSL_SHAPE_WORDS: Final[dict[str, str]] = _SHAPE_WORDS | {
    "pair": "two bounds: between LOWER and UPPER",
    "list": "a list of values in [...]",
    "period": "a calendar period such as this month",
}


def from_dsl(location: Location) -> bool:
    """Return whether the node at ``location`` was read from DSL text."""
    return location.pointer is None and location.line is not None


def operator_label(name: str, location: Location) -> str:
    """Return operator ``name`` as the rule at ``location`` writes it: ``>`` in the DSL, ``gt`` in JSON.

    An operator that a plugin adds is ``@name`` in the DSL.
    """
    if not from_dsl(location):
        return name
    return _DSL_LABELS.get(name, f"@{name}")


def operator_labels(names: Iterable[str], location: Location, limit: int = 30) -> str:
    """Return ``names`` as the rule at ``location`` writes them, joined for a hint.

    JSON names are sorted. DSL labels follow the DSL's operator table (``=`` before
    ``!=`` before ``>``), then plugin operators by name. A list longer than ``limit``
    ends with the count of the rest.
    """
    if from_dsl(location):
        ordered = sorted(set(names), key=lambda name: (_DSL_ORDER.get(name, len(_DSL_ORDER)), name))
        labels = list(dict.fromkeys(operator_label(name, location) for name in ordered))
    else:
        labels = sorted(set(names))
    if len(labels) <= limit:
        return ", ".join(labels)
    return ", ".join(labels[:limit]) + f" and {len(labels) - limit} more"


def option_label(option: str, location: Location) -> str:
    """Return a text option (``ignore_case``) as the rule at ``location`` writes it (``ignoring case``)."""
    return _DSL_OPTIONS.get(option, option) if from_dsl(location) else option


def shape_words(shape: str, location: Location) -> str:
    """Return what an operator of value shape ``shape`` takes, in the words of the rule at ``location``."""
    words = _DSL_SHAPE_WORDS if from_dsl(location) else _SHAPE_WORDS
    return words.get(shape, shape)


def period_example(location: Location) -> str:
    """Return an example calendar period as the rule at ``location`` writes it."""
    return "this month" if from_dsl(location) else "this_month"
