"""Canonical text of a rule file, as ``segmento fmt`` writes it.

A ``.seg`` file gets the DSL formatter's text with its comments kept
(``dsl.reformat``). A ``.json`` file gets the canonical JSON form, keeping a
``"$schema"`` key that a segment object had. Either way the new text is parsed again
and must give the same segments and, for the DSL, the same number of comments.
Otherwise ``FormatError`` is raised and the file must be left as it is.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from segmento.cli.rule_input import RuleFile, parse_rule_text
from segmento.engine.errors import Location, SegmentoError
from segmento.engine.jsonform import dump_segment, encode_json, parse_json_text

logger = logging.getLogger(__name__)

SCHEMA_KEY: Final = "$schema"
_QUOTES: Final = frozenset('"`')


class FormatError(SegmentoError):
    """The canonical text of a file would not mean the same as the file, so nothing is written."""

    code = "format_failed"


def canonical_text(rule_file: RuleFile) -> str:
    """Return the canonical text of ``rule_file``. Raises ``FormatError`` when it cannot be trusted."""
    if rule_file.path.suffix.lower() == ".json":
        text = _canonical_json(rule_file)
    else:
        # Imported here so that formatting JSON files does not build the DSL parser.
        from segmento.engine.dsl.reformat import reformat

        text = reformat(rule_file.text, rule_file.source)
    _check_same_meaning(rule_file, text)
    return text


def write_text(path: Path, text: str) -> None:
    """Replace the content of ``path`` with ``text`` (UTF-8) in one step, keeping its permissions.

    The text is written to a temporary file beside ``path`` and renamed over it, so a
    reader never sees half a file.
    """
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    logger.debug("wrote %s", path)


def _canonical_json(rule_file: RuleFile) -> str:
    document = parse_json_text(rule_file.text, source=rule_file.source)
    if isinstance(document, Mapping):
        return encode_json(_with_schema(dump_segment(rule_file.segments[0]), document)) + "\n"
    dumped = [_with_schema(dump_segment(segment), original) for segment, original in zip(rule_file.segments, document)]
    return encode_json(dumped) + "\n"


def _with_schema(dumped: dict[str, Any], original: Any) -> dict[str, Any]:
    """Return ``dumped`` with the ``"$schema"`` key of ``original`` first, when it had one."""
    if isinstance(original, Mapping) and SCHEMA_KEY in original:
        return {SCHEMA_KEY: original[SCHEMA_KEY], **dumped}
    return dumped


def _check_same_meaning(rule_file: RuleFile, text: str) -> None:
    location = Location(source=rule_file.source)
    hint = "The file was left unchanged; please report this with the file attached"
    try:
        segments = parse_rule_text(rule_file.path, text)
    except SegmentoError as error:
        raise FormatError(
            f"the canonical text does not parse: {error.message}", location=location, hint=hint
        ) from error
    if segments != rule_file.segments:
        raise FormatError("the canonical text does not contain the same segments", location=location, hint=hint)
    if rule_file.path.suffix.lower() != ".json" and count_comments(text) != count_comments(rule_file.text):
        raise FormatError("the canonical text would lose comments", location=location, hint=hint)


def count_comments(text: str) -> int:
    """Return the number of ``#`` comments in DSL ``text``; a ``#`` inside a string or quoted name is text.

    Strings and quoted names cannot span lines in the DSL, so each line is scanned alone.
    """
    return sum(1 for line in text.split("\n") if _comment_start(line) is not None)


def _comment_start(line: str) -> int | None:
    quote: str | None = None
    escaped = False
    for index, char in enumerate(line):
        if quote is not None:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == quote:
                quote = None
        elif char in _QUOTES:
            quote = char
        elif char == "#":
            return index
    return None
