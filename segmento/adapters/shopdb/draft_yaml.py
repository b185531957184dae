"""Write a draft mapping as YAML, with a comment on each guess and commented-out lines for what is missing.

A comment gives how confident the guess is (``high``, ``medium``, ``low``), why, and
what else was considered. A field, key, watermark or table that the draft could not
find is a commented-out line that starts with ``TODO``, so the file still loads and
``segmento shopdb check`` names what is left to fill in.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any, Final

import yaml

from segmento.adapters.ingest.model import LINE_KINDS
from segmento.adapters.shopdb.draft import Draft, FieldDraft, Guess, StatusDraft, TableDraft
from segmento.adapters.shopdb.mapping import GENDERS, ROLES, TARGETS, Role

COMMENT_COLUMN: Final = 31
"""Column where trailing comments start, as in ``examples/shopdb-mapping.yaml``."""

MAX_LINE: Final = 110
"""A value line with a longer trailing comment gets the comment on lines of its own above it."""

HEADER: Final = """\
# A first mapping of the shop database, drafted by `segmento shopdb draft` from its schema.
# Each guess has a comment: how confident it is (high, medium, low), why, and what else
# was considered. Check the low and medium ones, fill in the lines marked TODO, then run
#   segmento shopdb check {path}
# docs/shopdb.md describes every key.
"""

_PLAIN_NUMBER: Final = re.compile(r"(0|[1-9][0-9]{0,17})")


def render(draft: Draft, path: str = "MAPPING.yaml") -> str:
    """Return the YAML text of ``draft``; ``path`` is the file name shown in the header."""
    lines = HEADER.format(path=path).splitlines()
    lines.append("")
    lines += _source(draft)
    for role in ROLES:
        lines.append("")
        table = draft.tables.get(role)
        if table is None:
            lines += _missing_table(role, draft.missing.get(role, "not found"))
        else:
            lines += _table(table)
    return "\n".join(lines) + "\n"


def _source(draft: Draft) -> list[str]:
    export = f"export {draft.url_variable}='{draft.url_display}'" if draft.url_display else f"export {draft.url_variable}"
    lines = [
        "source:",
        "  # Never write a password here: ${NAME} takes the URL from an environment variable.",
        f"  # {export}",
        _line("  url: ${" + draft.url_variable + "}"),
        _line(f"  timezone: {_scalar(draft.timezone)}", "zone of the naive DATETIME columns: check it"),
        _line("  batch_size: 1000", "rows of the driving table per transaction"),
        _line("  settle_seconds: 0", "leave rows updated in the last N seconds for the next import"),
        _line("  reconcile: every_import", "find deleted rows and rows with a NULL update time: every_import, never, 12h"),
    ]
    return lines


def _table(table: TableDraft) -> list[str]:
    lines = [f"{table.role}:"]
    if table.role == "categories":
        lines[0] = _line(lines[0], "read whole on every import")
    lines += _guess_line("  table", table.table)
    if table.key is not None:
        lines += _guess_line("  key", table.key)
    else:
        lines.append(_todo_line("  key: COLUMN", table.key_todo or "no key column found"))
    if table.role != "categories":
        if table.watermark is not None:
            lines += _guess_line("  watermark", table.watermark)
        elif table.watermark_todo is not None:
            lines.append(_todo_line("  watermark: COLUMN", table.watermark_todo))
    found = [item for item in table.fields if item.guess is not None]
    lines.append("  columns:" if found else "  columns: {}")
    for item in table.fields:
        lines += _field(item, table.role)
    if table.statuses is not None:
        lines += _statuses(table.statuses)
    return lines


def _field(item: FieldDraft, role: Role) -> list[str]:
    indent = "    "
    if item.guess is None:
        if item.unknown_codes:
            column = item.todo.split()[1] if item.todo and item.todo.startswith("column ") else "COLUMN"
            allowed = GENDERS if item.target == "gender" else LINE_KINDS
            codes = ", ".join(f"{_key(value)}: ?" for value in item.unknown_codes[:10])
            return [
                _todo_line(f"{indent}{item.target}:", item.todo or ""),
                f"{indent}#   column: {column}",
                f"{indent}#   codes: {{{codes}}}   # each ? is one of {', '.join(allowed)}, or null",
            ]
        return [_todo_line(f"{indent}{item.target}: COLUMN", item.todo or "not found")]
    guess = item.guess
    extra = [text for text in (item.note,) if text]
    if item.codes is None and item.scale is None:
        return _guess_line(f"{indent}{item.target}", guess, extra)
    lines = _guess_line(f"{indent}{item.target}", guess, extra, value=None)
    lines.append(f"{indent}  column: {_scalar(guess.value)}")
    if item.scale is not None:
        lines.append(f"{indent}  scale: {item.scale}")
    if item.codes is not None:
        lines.append(f"{indent}  codes:")
        for code, meaning in item.codes.items():
            lines.append(f"{indent}    {_key(code)}: {_scalar(meaning)}")
        for code in item.unknown_codes:
            lines.append(f"{indent}    # TODO: {_key(code)}: ?   (meaning not recognised)")
    if item.default_null:
        lines.append(_line(f"{indent}  default: null", "a code not listed becomes unknown instead of rejecting the row"))
    return lines


def _statuses(statuses: StatusDraft) -> list[str]:
    indent = "  "
    if not statuses.known:
        return [
            _todo_line(f"{indent}statuses:", "the status codes could not be read; list those that are not sales"),
            f"{indent}#   skip: [CODE, ...]      # not paid or cancelled",
            f"{indent}#   returns: [CODE, ...]   # returns, credit notes",
        ]
    lines = [f"{indent}statuses:"]
    if statuses.sample is not None:
        lines.append(f"{indent}  # read from {statuses.sample}: older rows may have other codes")
    lines.append(_line(f"{indent}  skip: {_flow(statuses.skip)}", "not paid, cancelled or failed: not a purchase"))
    lines.append(_line(f"{indent}  returns: {_flow(statuses.returns)}", "returns: their lines lower the totals"))
    if statuses.sales:
        lines.append(f"{indent}  # counted as sales: {', '.join(statuses.sales)}")
    if statuses.unsure:
        lines.append(f"{indent}  # TODO: sale, skip or return? {', '.join(statuses.unsure)}")
    return lines


def _missing_table(role: Role, why: str) -> list[str]:
    lines = [f"# TODO: {role}: {why}."]
    if role in ("orders", "order_lines"):
        lines[0] += " This section is required."
    lines += [f"# {role}:", "#   table: TABLE", "#   key: id"]
    if role != "categories":
        lines.append("#   watermark: updated_at")
    lines.append("#   columns:")
    lines += [f"#     {spec.name}: COLUMN" for spec in TARGETS[role].values()]
    return lines


# --- lines and scalars ----------------------------------------------------------------------


def _guess_line(prefix: str, guess: Guess, extra: list[str] | None = None, *, value: str | None = "") -> list[str]:
    """Return ``prefix: value`` with the guess's comment, or the comment above it when the line gets long."""
    text = f"{prefix}: {_scalar(guess.value)}" if value is not None else f"{prefix}:"
    comment = f"{guess.confidence}: {guess.reason}"
    if extra:
        comment += "; " + "; ".join(extra)
    if guess.others:
        comment += "; also considered: " + ", ".join(guess.others)
    return _commented(text, comment)


def _commented(text: str, comment: str) -> list[str]:
    single = _line(text, comment)
    if len(single) <= MAX_LINE:
        return [single]
    indent = text[: len(text) - len(text.lstrip())]
    wrapped = textwrap.wrap(comment, width=MAX_LINE - len(indent) - 2, break_on_hyphens=False)
    return [f"{indent}# {part}" for part in wrapped] + [text]


def _line(text: str, comment: str | None = None) -> str:
    if not comment:
        return text
    return f"{text.ljust(COMMENT_COLUMN - 1)} # {comment}" if len(text) < COMMENT_COLUMN - 1 else f"{text}  # {comment}"


def _todo_line(text: str, todo: str) -> str:
    indent = text[: len(text) - len(text.lstrip())]
    return f"{indent}# {text.lstrip()}   # TODO: {todo}"


def _scalar(value: Any) -> str:
    """Return ``value`` as a YAML scalar, quoted where YAML would read it as something else."""
    if value is None:
        return "null"
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, width=10_000).strip()
    if text.endswith("..."):
        text = text[:-3].strip()
    return text


def _key(code: str) -> str:
    """Return a code as a mapping key: a plain number unquoted, as ``mapping_file`` reads ``1`` and ``'1'`` alike."""
    return code if _PLAIN_NUMBER.fullmatch(code) else _scalar(code)


def _flow(values: tuple[str, ...]) -> str:
    return "[" + ", ".join(_scalar(value) for value in values) + "]"
