"""Explanations of a token the parser cannot take, for the usual mistakes.

Each explainer looks at the failing token, the token before it and the terminals the
parser would have accepted, and returns an error or ``None``. The first error found
wins: a number in another notation, an unclosed bracket, a missing value or operator, an unknown operator word
(with a did-you-mean), a keyword where a name belongs, and so on.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable
from typing import Final

from lark import Token, UnexpectedToken

from segmento.engine.dsl.failures import ParseFailure
from segmento.engine.dsl.number_errors import number_after_token, number_error
from segmento.engine.dsl.lexicon import (
    CLOSING_BRACKETS,
    KEYWORDS,
    MISTYPED_SYMBOLS,
    MISTYPED_WORDS,
    NAME_TERMINALS,
    OPENING_BRACKETS,
    OPERATOR_PHRASES,
    SYMBOL_OPERATORS,
    VALUE_TERMINALS,
    describe_terminal,
    format_name,
)
from segmento.engine.errors import RuleSyntaxError

_BRACKET_TEXT: Final = {"LBRACE": "{", "RBRACE": "}", "LSQB": "[", "RSQB": "]", "LPAR": "(", "RPAR": ")"}
_OPERATOR_STARTS: Final = frozenset(
    {*SYMBOL_OPERATORS, "BETWEEN", "NOT", "IN", "IS", "CONTAINS", "STARTS", "ENDS", "BEFORE", "AFTER", "ON"}
)
_PHRASE_WORDS: Final = frozenset({"NOT", "IN", "IS", "CONTAINS", "STARTS", "ENDS", "LAST", "NEXT", *SYMBOL_OPERATORS})
_CONDITION_STARTS: Final = frozenset(
    {"NAME", "QUOTED_NAME", "ALL", "ANY", "NONE", "NOT", "IN", "COUNT", "SUM", "BIRTHDAY"}
)
# Words that start a built-in operator that an event count or sum cannot take, and the words that may follow.
_FIELD_OPERATOR_WORDS: Final = frozenset({"IS", "CONTAINS", "STARTS", "ENDS", "BEFORE", "AFTER", "ON"})
_OPERATOR_TAIL_WORDS: Final = frozenset({"NOT", "SET", "EMPTY", "WITH", "ANY", "ALL", "NONE"})
_KNOWN_PHRASES: Final = sorted(set(OPERATOR_PHRASES.values()) | {"in [...]", "not in [...]"} - {"in", "not in"})
_MAX_EXPECTED_LISTED: Final = 8

_Explainer = Callable[[ParseFailure, Token, "Token | None", set[str], int], "RuleSyntaxError | None"]
"""Return an error for the failing token, or ``None`` when the failure is not the mistake it explains."""


def explain_token(failure: ParseFailure, error: UnexpectedToken) -> RuleSyntaxError:
    """Return the friendliest error for a token the parser cannot take at its place."""
    token = error.token
    tokens = failure.tokens
    index = _token_index(tokens, token)
    previous = tokens[index - 1] if index > 0 else None
    accepts = set(error.accepts or error.expected)
    for explainer in _EXPLAINERS:
        found = explainer(failure, token, previous, accepts, index)
        if found is not None:
            return found
    return _unexpected(failure, token, previous, accepts)


def _token_index(tokens: list[Token], token: Token) -> int:
    if token.type == "$END":
        return len(tokens)
    for index, candidate in enumerate(tokens):
        if candidate.start_pos == token.start_pos and candidate.type == token.type:
            return index
    return len(tokens)


def _malformed_number(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    """Explain ``1e3``, ``5.000.000`` or ``5,000``: a number the parser reads as several tokens."""
    if "DAYS" in accepts and token.type == "NAME" and str(token.value)[:1] not in ("e", "E"):
        # ``in last 7d`` is a misspelt unit, which ``_missing_unit`` explains.
        return None
    found = number_after_token(failure.text, failure.tokens, index)
    if found is None:
        return None
    return number_error(failure.text, found, failure.source)


def _unclosed_bracket(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    open_here = _open_brackets(failure.tokens[:index])
    if not open_here:
        return None
    opener = open_here[-1]
    if opener.start_pos not in {item.start_pos for item in _open_brackets(failure.tokens)}:
        return None
    closer = OPENING_BRACKETS[opener.type]
    runs_past = token.type in ("$END", "SEGMENT") or token.type in CLOSING_BRACKETS
    if not runs_past and not (closer in accepts and opener.type != "LBRACE"):
        return None
    code = "unclosed_brace" if opener.type == "LBRACE" else "unclosed_bracket"
    return failure.at(
        opener,
        f"`{opener.value}` is never closed",
        code=code,
        hint=f"Add the matching `{_BRACKET_TEXT[closer]}`",
        bracket=str(opener.value),
    )


def _open_brackets(tokens: Iterable[Token]) -> list[Token]:
    """Return the brackets left open after ``tokens``. A closer that matches no opener is skipped."""
    stack: list[Token] = []
    for token in tokens:
        if token.type in OPENING_BRACKETS:
            stack.append(token)
        elif token.type in CLOSING_BRACKETS and stack and stack[-1].type == CLOSING_BRACKETS[token.type]:
            stack.pop()
    return stack


def _unmatched_closing(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if token.type not in CLOSING_BRACKETS or _open_brackets(failure.tokens[:index]):
        return None
    opening = _BRACKET_TEXT[CLOSING_BRACKETS[token.type]]
    return failure.at(
        token,
        f"`{token.value}` has no matching `{opening}`",
        code="unmatched_bracket",
        hint="Delete it, or add the opening bracket where the group or list starts",
        bracket=str(token.value),
    )


def _mistyped_symbol(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if previous is None or previous.end_pos != token.start_pos:
        return None
    typed = f"{previous.value}{token.value}"
    meant = MISTYPED_SYMBOLS.get(typed)
    if meant is None:
        return None
    return failure.at(
        previous,
        f"unknown operator `{typed}`",
        code="unknown_operator",
        hint=f"Did you mean `{meant}`?",
        word=typed,
        suggestion=meant,
    )


def _keyword_before_operator(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    """Explain ``count = 5``: a keyword at the start of a condition, used as a field name."""
    if previous is None or previous.type.lower() not in KEYWORDS or "EQ" in accepts:
        return None
    if token.type not in _OPERATOR_STARTS or token.type in accepts:
        return None
    return _keyword_as_name(failure, previous)


def _name_expected(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if not accepts & NAME_TERMINALS:
        return None
    if _is_keyword(token):
        return _keyword_as_name(failure, token)
    if previous is not None and token.type in ("_NL", "$END", "RPAR") and accepts <= NAME_TERMINALS:
        return failure.after(
            previous,
            f"missing name after `{previous.value}`",
            code="missing_name",
            hint="Write the name of a segment, field or event",
        )
    return None


def _keyword_as_name(failure: ParseFailure, token: Token) -> RuleSyntaxError:
    word = str(token.value)
    return failure.at(
        token,
        f"`{word}` is a keyword, so it cannot be a name here",
        code="keyword_as_name",
        hint=f"Quote the name with backticks: {format_name(word)}",
        word=word,
    )


def _unknown_group(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if token.type != "LBRACE" or previous is None or previous.type != "NAME" or "EQ" not in accepts:
        return None
    word = str(previous.value)
    return failure.at(
        previous,
        f"unknown group `{word}`",
        code="unknown_group",
        hint=_did_you_mean(word, ["all", "any", "none"], "Start a group with all, any or none"),
        word=word,
    )


def _missing_operator(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if "EQ" not in accepts or previous is None:
        return None
    if token.type in VALUE_TERMINALS or token.type in ("_NL", "$END", "RBRACE"):
        return failure.after(
            previous,
            f"missing operator after {_describe_token(previous)}",
            code="missing_operator",
            hint="Write an operator such as =, >=, in [...], contains or is set",
        )
    return None


def _field_operator_on_event(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    """Explain ``count(purchase) contains 1``: an operator of field tests after an event count or sum."""
    if token.type not in _FIELD_OPERATOR_WORDS or "EQ" not in accepts or token.type in accepts:
        return None
    words = [str(token.value)]
    for following in failure.tokens[index + 1 :]:
        if following.type not in _OPERATOR_TAIL_WORDS or following.line != token.line:
            break
        words.append(str(following.value))
    typed = " ".join(words)
    return failure.at(
        token,
        f"operator `{typed}` cannot compare an event count or sum",
        code="operator_not_allowed",
        hint="Compare the count or sum with =, !=, >, >=, <, <=, between or not between",
        word=typed,
    )


def _unknown_operator(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if not _is_word(token):
        return None
    words = _phrase_before(failure.tokens, index)
    in_phrase = bool(words) and not accepts & VALUE_TERMINALS
    if "EQ" not in accepts and not in_phrase:
        return None
    typed = " ".join([*words, str(token.value)])
    start = failure.tokens[index - len(words)] if words else token
    meant = MISTYPED_WORDS.get(str(token.value))
    if meant is not None:
        hint = f"Did you mean `{meant}`?"
    else:
        candidates = [phrase for phrase in _KNOWN_PHRASES if phrase.startswith(" ".join(words))]
        hint = _did_you_mean(
            typed,
            candidates or _KNOWN_PHRASES,
            "Use an operator such as =, !=, >=, between, in [...], contains, starts with or is set. "
            "Write an operator from a plugin as @name",
        )
    return failure.at(start, f"unknown operator `{typed}`", code="unknown_operator", hint=hint, word=typed)


def _phrase_before(tokens: list[Token], index: int) -> list[str]:
    """Return the operator words typed just before ``index`` on the same line (``is``, ``not``, ...)."""
    words: list[str] = []
    position = index - 1
    line = tokens[index].line if index < len(tokens) else None
    while position >= 0 and tokens[position].type in _PHRASE_WORDS:
        if line is not None and tokens[position].line != line:
            break
        words.insert(0, str(tokens[position].value))
        position -= 1
    return words


def _missing_value(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    wants_value = bool(accepts & VALUE_TERMINALS)
    wants_amount = accepts & VALUE_TERMINALS == {"INTEGER"}
    if not (wants_value or wants_amount) or previous is None:
        return None
    after = " ".join(_phrase_before(failure.tokens, index)) or str(previous.value)
    if _is_word(token):
        word = str(token.value)
        hint = f'Write text in double quotes: "{word}"' if wants_value else "Write a number, for example 7 days"
        return failure.at(token, f"`{word}` is not a value", code="invalid_value", hint=hint, word=word)
    if token.type not in ("_NL", "$END", "RBRACE", "RSQB", "RPAR", "COMMA"):
        return None
    if accepts == {"STRING"}:
        return failure.after(
            previous,
            f"missing string after {_describe_token(previous)}",
            code="missing_value",
            hint='Write the text in double quotes, as in: segment vip "Khách VIP"',
            operator=after,
        )
    if wants_amount:
        return failure.after(
            previous,
            f"missing number after `{after}`",
            code="missing_value",
            hint="Write a number and a unit, for example 7 days",
            operator=after,
        )
    return failure.after(
        previous,
        f"missing value after `{after}`",
        code="missing_value",
        hint='Write a value: a "string", a number, true or false, a date, or a list [...]',
        operator=after,
    )


def _missing_unit(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if "DAYS" not in accepts or "INTEGER" in accepts or previous is None:
        return None
    if _is_word(token):
        word = str(token.value)
        units = ["minutes", "hours", "days", "weeks"]
        return failure.at(
            token,
            f"unknown unit `{word}`",
            code="unknown_unit",
            hint=_did_you_mean(word, units, "Use minutes, hours, days or weeks"),
            word=word,
        )
    return failure.after(
        previous,
        f"missing unit after {previous.value}",
        code="missing_unit",
        hint="Write minutes, hours, days or weeks after the number",
    )


def _several_conditions(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    if token.type not in _CONDITION_STARTS or not accepts <= {"SEGMENT", "$END", "_NL"}:
        return None
    if index == 0 or (index == 1 and failure.tokens[0].type == "_NL"):
        return failure.at(
            token,
            "missing segment header",
            code="missing_header",
            hint='Start each segment with a line such as: segment vip "Khách VIP"',
        )
    return failure.at(
        token,
        "a segment has one condition, but a second one starts here",
        code="several_conditions",
        hint="Wrap the conditions in all { ... } or any { ... }",
    )


def _after_complete_condition(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    """Explain text after a condition that is already complete, on the same line."""
    if not accepts & {"_NL", "$END", "RBRACE"} or previous is None or previous.line != token.line:
        return None
    following = failure.tokens[index + 1] if index + 1 < len(failure.tokens) else None
    if token.type == "IN" and following is not None and following.type in ("LAST", "THIS", "TODAY", "YESTERDAY"):
        return failure.at(
            token,
            "a time window applies only to events",
            code="window_not_allowed",
            hint="Count events in a window, as in: count(purchase) >= 1 in last 7 days. "
            "Test a date field with: last_purchase_at in last 7 days",
        )
    if token.type not in _CONDITION_STARTS:
        return None
    return failure.at(
        token,
        "a new condition starts on the same line",
        code="same_line",
        hint="Put each condition on its own line",
    )


def _unknown_word(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    """Explain a misspelt keyword: ``in lst 7 days``."""
    if not _is_word(token):
        return None
    keywords = sorted(name.lower() for name in accepts if name.lower() in KEYWORDS)
    if not keywords:
        return None
    word = str(token.value)
    expected = ", ".join(keywords)
    return failure.at(
        token,
        f"unexpected word `{word}`",
        code="unknown_word",
        hint=_did_you_mean(word, keywords, f"Expected one of: {expected}"),
        word=word,
    )


def _missing_word(
    failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str], index: int
) -> RuleSyntaxError | None:
    """Explain ``x between 1 5`` or ``x starts "a"``: the one keyword that must come next is missing."""
    if len(accepts) != 1 or previous is None or _is_word(token):
        return None
    (expected,) = accepts
    word = expected.lower()
    if word not in KEYWORDS:
        return None
    return failure.after(
        previous,
        f"missing `{word}` after {_describe_token(previous)}",
        code="missing_word",
        hint=f"Write `{word}` here",
        word=word,
    )


_EXPLAINERS: Final[tuple[_Explainer, ...]] = (
    _malformed_number,
    _unclosed_bracket,
    _unmatched_closing,
    _mistyped_symbol,
    _keyword_before_operator,
    _name_expected,
    _unknown_group,
    _missing_operator,
    _field_operator_on_event,
    _unknown_operator,
    _missing_unit,
    _missing_value,
    _missing_word,
    _several_conditions,
    _after_complete_condition,
    _unknown_word,
)


def _unexpected(failure: ParseFailure, token: Token, previous: Token | None, accepts: set[str]) -> RuleSyntaxError:
    expected = sorted({describe_terminal(name) for name in accepts})
    listed = ", ".join(expected[:_MAX_EXPECTED_LISTED])
    if len(expected) > _MAX_EXPECTED_LISTED:
        listed += ", ..."
    message = f"unexpected {_describe_token(token)}"
    hint = f"Expected {listed}" if listed else None
    if token.type == "$END" and previous is not None:
        # Lark gives the end of the text the position of the last token, so point just after that token.
        return failure.after(previous, message, code="unexpected_token", hint=hint, found="")
    return failure.at(token, message, code="unexpected_token", hint=hint, found=str(token.value))


def _is_keyword(token: Token) -> bool:
    return token.value in KEYWORDS and token.type.lower() == token.value


def _is_word(token: Token) -> bool:
    return token.type == "NAME" or _is_keyword(token)


def _describe_token(token: Token) -> str:
    if token.type == "$END":
        return "end of the text"
    if token.type == "_NL":
        return "line break" if "\n" in token.value else "comment"
    if token.type in ("NAME", "QUOTED_NAME"):
        return f"name `{token.value.strip('`')}`"
    if _is_keyword(token):
        return f"keyword `{token.value}`"
    return f"`{token.value}`"


def _did_you_mean(word: str, candidates: Iterable[str], otherwise: str) -> str:
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"Did you mean `{matches[0]}`?" if matches else otherwise
