"""What the rule commands share: reading rule files, the registry, and common options.

Rule files are read here rather than through ``rulefiles`` because the commands need
each file's text too (for ``fmt``, and to show source lines in problems), and because
``validate`` checks files and directories given together as one rule set.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Final, NoReturn, TypeVar

import click

from segmento.cli.common import EXIT_INVALID
from segmento.cli.problems import ProblemPrinter, flatten
from segmento.engine.ast import Segment
from segmento.engine.catalog import closest
from segmento.engine.errors import Location, RuleError, SegmentoError
from segmento.engine.jsonform import decode_rule_text, load_segments
from segmento.engine.registry import Registry, get_registry
from segmento.engine.rulefiles import RULE_FILE_SUFFIXES
from segmento.engine.temporal import DEFAULT_TIMEZONE, load_timezone
from segmento.engine.validation import validate_segments

logger = logging.getLogger(__name__)

Command = TypeVar("Command", bound=Callable[..., Any])

OUTPUT_FORMATS: Final = ("text", "json")


@dataclass(frozen=True, slots=True)
class RuleFile:
    """One rule file as read from disk: its raw bytes, its text and its parsed segments."""

    path: Path
    data: bytes
    text: str
    segments: list[Segment]
    problems: tuple[RuleError, ...] = ()
    """Syntax problems of a .seg file read with ``recover=True``. With problems, ``segments``
    holds only the segments that parsed."""

    @property
    def source(self) -> str:
        """The file's name in error locations."""
        return str(self.path)


# --- reading rule files ---------------------------------------------------------------


def expand_paths(paths: Sequence[Path]) -> tuple[list[Path], list[RuleError]]:
    """Return the rule files named by ``paths``, with each directory replaced by its rule files.

    A directory contributes its ``.seg`` and ``.json`` files in sorted order, sub-directories
    included and hidden entries skipped, like ``rulefiles.load_rule_dir``. A directory
    without rule files is a problem, returned with the others instead of raised.
    """
    files: list[Path] = []
    problems: list[RuleError] = []
    for path in paths:
        if not path.is_dir():
            files.append(path)
            continue
        found = [
            item
            for item in sorted(path.rglob("*"))
            if item.is_file()
            and item.suffix.lower() in RULE_FILE_SUFFIXES
            and not any(part.startswith(".") for part in item.relative_to(path).parts)
        ]
        if not found:
            problems.append(
                RuleError(
                    "directory contains no rule files",
                    location=Location(source=str(path)),
                    hint="Rule files end in .seg (the rule language) or .json (the JSON form)",
                    code="no_rule_files",
                )
            )
        files.extend(found)
    return list(dict.fromkeys(files)), problems


def read_rule_file(path: Path, *, recover: bool = False) -> RuleFile:
    """Read and parse one rule file, without validating it against the catalog.

    Raises ``RuleError`` naming the file when it is missing, unreadable, empty, of
    another type, or does not parse. With ``recover``, the syntax problems of a .seg
    file are returned in ``problems`` instead, one or more for each segment that has
    any (``dsl.recovery``).
    """
    source = str(path)
    suffix = path.suffix.lower()
    if suffix not in RULE_FILE_SUFFIXES:
        raise RuleError(
            f'unsupported rule file type "{path.suffix}"' if path.suffix else "rule file has no extension",
            location=Location(source=source),
            value=path.name,
            hint="Rule files end in .seg (the rule language) or .json (the JSON form)",
            code="unsupported_file_type",
        )
    data = _read_bytes(path)
    text = decode_rule_text(data, source=source)
    if not text.strip():
        raise RuleError(
            "rule file is empty",
            location=Location(source=source),
            hint="Write at least one segment in the file, or delete it",
            code="empty_rule_file",
        )
    if recover and suffix != ".json":
        # Imported here so that commands on JSON files do not build the DSL parser.
        from segmento.engine.dsl.recovery import parse_segments_recovering

        parsed = parse_segments_recovering(text, source)
        return RuleFile(path, data, text, parsed.segments, tuple(parsed.problems))
    return RuleFile(path, data, text, parse_rule_text(path, text))


def parse_rule_text(path: Path, text: str) -> list[Segment]:
    """Parse ``text`` as the JSON form or the DSL, as the suffix of ``path`` says."""
    if path.suffix.lower() == ".json":
        return load_segments(text, source=str(path))
    # Imported here so that commands on JSON files do not build the DSL parser.
    from segmento.engine.dsl.parser import parse_segments

    return parse_segments(text, source=str(path))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise RuleError(
            "rule file not found",
            location=Location(source=str(path)),
            hint="Check the path",
            code="rule_file_not_found",
        ) from None
    except IsADirectoryError:
        raise RuleError(
            "expected a rule file, got a directory",
            location=Location(source=str(path)),
            hint="Give the path of one .seg or .json file",
            code="rule_file_unreadable",
        ) from None
    except OSError as error:
        raise RuleError(
            f"cannot read rule file: {error.strerror}",
            location=Location(source=str(path)),
            hint="Check that the path is a readable file",
            code="rule_file_unreadable",
        ) from None


@dataclass(frozen=True, slots=True)
class CheckedFiles:
    """Rule files read and validated together as one rule set, as ``segmento validate`` does it."""

    counts: list[tuple[Path, int | None]]
    """Each file with its number of segments, or ``None`` when it could not be read in full."""
    rule_files: list[RuleFile]
    """The files that could be read, with the segments that parsed."""
    problems: list[SegmentoError]
    """Every problem, grouped by file in the order of ``counts``, then by line and column."""


def check_rule_files(
    paths: Sequence[Path], registry: Registry, printer: ProblemPrinter, *, check_references: bool = True
) -> CheckedFiles:
    """Read the rule files named by ``paths`` (directories included) and validate all their segments together.

    Every problem is collected rather than raised: files that cannot be read, syntax
    problems in each segment of a .seg file, and the problems of every segment that
    parsed, duplicate ids and reference cycles across files included. A reference to a
    segment outside the files is a problem when ``check_references`` is true and every
    file parsed in full. When a file did not, the segment may be in that file. ``printer``
    keeps each file's text to show source lines.
    """
    files, expand_problems = expand_paths(paths)
    problems: list[SegmentoError] = list(expand_problems)
    rule_files: list[RuleFile] = []
    counts: list[tuple[Path, int | None]] = []
    for path in files:
        try:
            rule_file = read_rule_file(path, recover=True)
        except RuleError as error:
            problems.extend(flatten([error]))
            counts.append((path, None))
            continue
        printer.remember(rule_file.source, rule_file.text)
        rule_files.append(rule_file)
        problems.extend(flatten(rule_file.problems))
        counts.append((path, None if rule_file.problems else len(rule_file.segments)))
    segments = [segment for rule_file in rule_files for segment in rule_file.segments]
    complete = all(count is not None for _, count in counts)
    known: tuple[str, ...] | None = () if check_references and complete else None
    try:
        validate_segments(segments, registry, known_segments=known)
    except RuleError as error:
        problems.extend(flatten([error]))
    order = {str(path): index for index, path in enumerate(files)}
    problems.sort(key=lambda problem: (order.get(problem.location.source or "", -1), *_position(problem)))
    return CheckedFiles(counts, rule_files, problems)


def _position(problem: SegmentoError) -> tuple[int, int]:
    return problem.location.line or 0, problem.location.column or 0


def load_rule(path: Path, registry: Registry, segment_id: str | None, printer: ProblemPrinter) -> Segment:
    """Read ``path``, validate its segments and return the one to use.

    ``printer`` keeps the file's text to show source lines. References to segments
    outside the file are not checked: ``match`` and ``explain`` read memberships from
    the profiles. Raises ``RuleError`` for an invalid file, and ``click.UsageError``
    when the segment to use is ambiguous or unknown.
    """
    rule_file = read_rule_file(path)
    printer.remember(rule_file.source, rule_file.text)
    validate_segments(rule_file.segments, registry, known_segments=None)
    return pick_segment(rule_file, segment_id)


def pick_segment(rule_file: RuleFile, segment_id: str | None) -> Segment:
    """Return the segment ``segment_id`` of ``rule_file``, or its only segment when no id is given."""
    segments = rule_file.segments
    ids = [segment.id for segment in segments]
    if segment_id is None:
        if len(segments) == 1:
            return segments[0]
        if not segments:
            raise RuleError(
                "rule file contains no segment",
                location=Location(source=rule_file.source),
                hint='Write a segment, starting with a line such as: segment vip "Khách VIP"',
                code="no_segment",
            )
        raise click.UsageError(
            f"{rule_file.source} contains {len(segments)} segments ({', '.join(ids)}); choose one with --segment"
        )
    for segment in segments:
        if segment.id == segment_id:
            return segment
    suggestion = closest(segment_id, ids)
    guess = f"did you mean {suggestion!r}? " if suggestion else ""
    raise click.BadParameter(
        f"no segment {segment_id!r} in {rule_file.source}; {guess}the file contains: {', '.join(ids) or 'no segment'}",
        param_hint="'--segment'",
    )


def load_registry(catalog: Path | None) -> Registry:
    """Return the registry of the installed plugins, with the fields of ``catalog`` added.

    Raises ``PluginError`` for a broken plugin and ``DataError`` for a bad catalog file.
    """
    registry = get_registry()
    if catalog is None:
        return registry
    return registry.with_catalog_file(catalog)


def exit_invalid(printer: ProblemPrinter, error: SegmentoError) -> NoReturn:
    """Print ``error`` with ``printer`` and exit with status 1 (rules or input invalid)."""
    printer.echo(error)
    raise SystemExit(EXIT_INVALID)


# --- option types ---------------------------------------------------------------------


class IsoInstant(click.ParamType):
    """An ISO 8601 date or date and time. A date alone means its midnight, and no offset means shop time."""

    name = "time"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            return datetime.fromisoformat(str(value).strip())
        except ValueError:
            self.fail(
                f"{value!r} is not an ISO 8601 date or date and time; "
                "write it as 2024-05-01, 2024-05-01T09:30:00 or 2024-05-01T09:30:00+07:00",
                param,
                ctx,
            )


class TimeZoneName(click.ParamType):
    """An IANA time zone name, checked against the time zone database."""

    name = "zone"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        try:
            load_timezone(str(value))
        except SegmentoError:
            self.fail(f"unknown time zone {value!r}; use an IANA name such as Asia/Ho_Chi_Minh or UTC", param, ctx)
        return str(value)


# --- options shared by several commands -------------------------------------------------


def fields_option(command: Command) -> Command:
    return click.option(
        "--fields",
        "catalog",
        type=click.Path(dir_okay=False, path_type=Path),
        help="JSON or YAML field catalog whose fields are added to those of the installed plugins.",
    )(command)


def segment_option(command: Command) -> Command:
    return click.option("--segment", "segment_id", help="Id of the segment to use when the rule file contains several.")(
        command
    )


def as_of_option(command: Command) -> Command:
    return click.option(
        "--as-of",
        "as_of",
        type=IsoInstant(),
        help="Evaluate as of this time: an ISO 8601 date or date and time. "
        "Without an offset it is local shop time (--tz), and a date alone is its midnight. Default: now.",
    )(command)


def timezone_option(command: Command) -> Command:
    return click.option(
        "--tz",
        "timezone",
        type=TimeZoneName(),
        default=DEFAULT_TIMEZONE,
        show_default=True,
        help="Shop time zone (IANA name) for --as-of, calendar periods and local dates.",
    )(command)


def format_option(help_text: str) -> Callable[[Command], Command]:
    return click.option(
        "--format",
        "output_format",
        type=click.Choice(OUTPUT_FORMATS),
        default="text",
        show_default=True,
        help=help_text,
    )
