"""Rule files: read segments from ``.json`` (the JSON form) and ``.seg`` (the DSL) files.

Every segment read is validated. A directory is read as one rule set, so ids must be
unique across its files and references may point from one file to another.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from pathlib import Path
from typing import Final

from segmento.engine.ast import Segment
from segmento.engine.errors import Location, RuleError, RuleErrors
from segmento.engine.jsonform import decode_rule_text, load_segments
from segmento.engine.registry import Registry
from segmento.engine.validation import DEFAULT_LIMITS, Limits, validate_segments

logger = logging.getLogger(__name__)

RULE_FILE_SUFFIXES: Final[tuple[str, ...]] = (".json", ".seg")


def load_rule_file(
    path: str | Path,
    registry: Registry | None = None,
    limits: Limits = DEFAULT_LIMITS,
    *,
    known_segments: Collection[str] | None = None,
) -> list[Segment]:
    """Read and validate the segments of one rule file.

    References to segments outside the file are not checked unless ``known_segments``
    lists the ids that exist elsewhere. Raises ``RuleError`` (``RuleErrors`` when there
    are several problems) naming the file.
    """
    path = Path(path)
    segments = _read_rule_file(path)
    validate_segments(segments, registry, limits, known_segments=known_segments)
    return segments


def load_rule_dir(path: str | Path, registry: Registry | None = None, limits: Limits = DEFAULT_LIMITS) -> list[Segment]:
    """Read and validate every rule file under a directory, as one rule set.

    Files ending in ``.json`` or ``.seg`` are read in sorted path order, including those
    in sub-directories; hidden files and directories and other files are skipped.
    Problems of all files are collected and raised together as ``RuleErrors``, grouped
    by file in that order. When a file cannot be read, references to unknown segments
    are not reported, because the segment may be in that file.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise RuleError(
            "rule directory does not exist or is not a directory",
            location=Location(source=str(directory)),
            hint="Give the path of the directory that holds the .seg and .json rule files",
            code="rule_dir_not_found",
        )
    files = _rule_files(directory)
    segments: list[Segment] = []
    problems: list[RuleError] = []
    for file in files:
        try:
            segments.extend(_read_rule_file(file))
        except RuleErrors as error:
            problems.extend(error.errors)
        except RuleError as error:
            problems.append(error)
    known: Collection[str] | None = () if not problems else None
    try:
        validate_segments(segments, registry, limits, known_segments=known)
    except RuleErrors as error:
        problems.extend(error.errors)
    if problems:
        order = {str(file): index for index, file in enumerate(files)}
        raise RuleErrors(sorted(problems, key=lambda problem: order.get(problem.location.source or "", len(order))))
    logger.debug("read %d segments from %s", len(segments), directory)
    return segments


def _rule_files(directory: Path) -> list[Path]:
    files = []
    for file in sorted(directory.rglob("*")):
        relative = file.relative_to(directory)
        if any(part.startswith(".") for part in relative.parts) or not file.is_file():
            continue
        if file.suffix.lower() in RULE_FILE_SUFFIXES:
            files.append(file)
        else:
            logger.debug("skipping %s: not a rule file", file)
    return files


def _read_rule_file(path: Path) -> list[Segment]:
    """Parse one rule file into segments, without validating them."""
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in RULE_FILE_SUFFIXES:
        raise RuleError(
            f'unsupported rule file type "{path.suffix}"' if path.suffix else "rule file has no extension",
            location=Location(source=source),
            value=path.name,
            hint="Rule files end in .json (the JSON form) or .seg (the rule language)",
            code="unsupported_file_type",
            params={"suffixes": list(RULE_FILE_SUFFIXES)},
        )
    text = _read_text(path)
    if suffix == ".json":
        return load_segments(text, source=source)
    # Imported here so that reading JSON rules does not load the grammar.
    from segmento.engine.dsl.parser import parse_segments

    return parse_segments(text, source=source)


def _read_text(path: Path) -> str:
    source = str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RuleError(
            "rule file not found",
            location=Location(source=source),
            hint="Check the path",
            code="rule_file_not_found",
        ) from None
    except OSError as error:
        raise RuleError(
            f"cannot read rule file: {error.strerror}",
            location=Location(source=source),
            hint="Check that the path is a readable file",
            code="rule_file_unreadable",
            params={"reason": error.strerror},
        ) from None
    text = decode_rule_text(data, source=source)
    if not text.strip():
        raise RuleError(
            "rule file is empty",
            location=Location(source=source),
            hint="Write at least one segment in the file, or delete it",
            code="empty_rule_file",
        )
    return text
