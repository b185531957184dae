"""Words of the rule DSL, shared by the parser, the formatter and the error messages.

``KEYWORDS`` must equal the keyword terminals of ``segmento_v1.lark``; a test checks it.
"""

from __future__ import annotations

import re
from typing import Final

from segmento.engine.dsl.literals import escape

GRAMMAR_FILE: Final = "segmento_v1.lark"

KEYWORDS: Final[frozenset[str]] = frozenset(
    {
        "segment",
        "description",
        "all",
        "any",
        "none",
        "not",
        "and",
        "in",
        "is",
        "set",
        "empty",
        "contains",
        "starts",
        "ends",
        "with",
        "between",
        "before",
        "after",
        "on",
        "last",
        "next",
        "this",
        "today",
        "yesterday",
        "month",
        "year",
        "birthday",
        "count",
        "sum",
        "of",
        "products",
        "categories",
        "ignoring",
        "case",
        "accents",
        "true",
        "false",
        "minute",
        "minutes",
        "hour",
        "hours",
        "day",
        "days",
        "week",
        "weeks",
        "use",
    }
)
"""Reserved words: a name spelled like one must be quoted with backticks."""

# The same pattern as the grammar's NAME terminal.
IDENTIFIER: Final = re.compile(r"[^\W\d][\w\u0300-\u036f]*")

# The same pattern as the comment part of the grammar's _NL terminal.
COMMENT: Final = re.compile(r"#[^\n]*")

BIRTHDAY_FIELD: Final = "birthday"
"""The field that ``birthday in next 30 days`` and the other short birthday tests name."""

OPERATOR_PHRASES: Final[dict[str, str]] = {
    "eq": "=",
    "ne": "!=",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "between": "between",
    "not_between": "not between",
    "in": "in",
    "not_in": "not in",
    "is_set": "is set",
    "is_not_set": "is not set",
    "contains": "contains",
    "not_contains": "not contains",
    "starts_with": "starts with",
    "ends_with": "ends with",
    "contains_any": "contains any",
    "contains_all": "contains all",
    "contains_none": "contains none",
    "is_empty": "is empty",
    "is_not_empty": "is not empty",
    "before": "before",
    "after": "after",
    "on": "on",
    "in_last": "in last",
    "not_in_last": "not in last",
    "in_next": "in next",
    "in_period": "in",
    "not_in_period": "not in",
    "birthday_in_next": "birthday in next",
    "birthday_today": "birthday today",
    "birthday_in_month": "birthday in month",
}
"""Spelling of each built-in operator after a field name."""

SYMBOL_OPERATORS: Final[dict[str, str]] = {
    "EQ": "eq",
    "NE": "ne",
    "GT": "gt",
    "GTE": "gte",
    "LT": "lt",
    "LTE": "lte",
}
"""Comparison symbols by grammar terminal."""

MISTYPED_SYMBOLS: Final[dict[str, str]] = {"==": "=", "=>": ">=", "=<": "<=", "<>": "!=", "=!": "!="}
"""Symbols from other languages that lex as two tokens here, and the one meant."""

MISTYPED_WORDS: Final[dict[str, str]] = {
    "equals": "=",
    "equal": "=",
    "eq": "=",
    "is": "=",
    "null": "is not set",
    "nil": "is not set",
    "none": "is not set",
    "missing": "is not set",
    "like": "contains",
    "has": "contains",
    "startswith": "starts with",
    "endswith": "ends with",
}
"""Operator words from other rule languages, and the operator meant."""

TERMINAL_DESCRIPTIONS: Final[dict[str, str]] = {
    "NAME": "a name",
    "QUOTED_NAME": "a name",
    "OPERATOR_NAME": "an operator written @name",
    "STRING": 'a string in double quotes ("...")',
    "INTEGER": "a whole number",
    "DECIMAL": "a decimal number",
    "DATE": "a date (YYYY-MM-DD)",
    "DATETIME": "a date and time (YYYY-MM-DDTHH:MM:SS)",
    "_NL": "a line break",
    "$END": "the end of the text",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "COMMA": "`,`",
    "DOT": "`.`",
}
"""Human descriptions of the grammar's non-keyword terminals, for "expected ..." messages."""

VALUE_TERMINALS: Final = frozenset({"STRING", "INTEGER", "DECIMAL", "DATE", "DATETIME", "TRUE", "FALSE", "LSQB"})
NAME_TERMINALS: Final = frozenset({"NAME", "QUOTED_NAME"})
OPENING_BRACKETS: Final[dict[str, str]] = {"LBRACE": "RBRACE", "LSQB": "RSQB", "LPAR": "RPAR"}
CLOSING_BRACKETS: Final[dict[str, str]] = {closing: opening for opening, closing in OPENING_BRACKETS.items()}


def is_bare_name(name: str) -> bool:
    """Return whether ``name`` can be written without backticks: an identifier, not a keyword."""
    return IDENTIFIER.fullmatch(name) is not None and name not in KEYWORDS


def format_name(name: str) -> str:
    """Return ``name`` as the DSL writes it: bare, or in backticks when it is a keyword or not an identifier."""
    if is_bare_name(name):
        return name
    return "`" + escape(name, "`") + "`"


def describe_terminal(terminal: str) -> str:
    """Return how an "expected ..." message names a grammar terminal."""
    if terminal in TERMINAL_DESCRIPTIONS:
        return TERMINAL_DESCRIPTIONS[terminal]
    if terminal.lower() in KEYWORDS:
        return f"`{terminal.lower()}`"
    if terminal in SYMBOL_OPERATORS:
        return f"`{OPERATOR_PHRASES[SYMBOL_OPERATORS[terminal]]}`"
    return terminal
