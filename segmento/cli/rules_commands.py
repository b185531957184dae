"""Commands on rule files: validate, fmt, convert, compile, match, explain.

Exit status is 0 on success and 1 when rules or input are invalid, including a rule
or profile file that does not exist. It is 2 for usage errors: an unknown option
value, a malformed --as-of, an unknown --backend or --target. Results go to standard
output and problems to standard error, each with its location and hint.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Final, Literal, NoReturn

import click

from segmento.cli.common import EXIT_INVALID
from segmento.cli.problems import ProblemPrinter, flatten
from segmento.cli.rule_input import (
    as_of_option,
    check_rule_files,
    exit_invalid,
    expand_paths,
    fields_option,
    format_option,
    load_registry,
    parse_rule_text,
    pick_segment,
    read_rule_file,
    segment_option,
    timezone_option,
)
from segmento.engine.ast import Segment
from segmento.engine.errors import Location, RuleError, SegmentoError
from segmento.engine.jsonform import encode_json
from segmento.engine.registry import Registry
from segmento.engine.validation import validate_segments

logger = logging.getLogger(__name__)

SQL_DIALECTS: Final = ("sqlite", "mysql", "mariadb", "postgresql")
"""The dialects of ``segmento.plugins.sql.dialects.DIALECT_NAMES``, listed here so that
``segmento --help`` does not import SQLAlchemy. A test checks that the two agree."""

PATHS_ARGUMENT = click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))


def register(group: click.Group) -> None:
    """Add this module's commands, ``convert`` and those of ``match_commands``, to ``group``."""
    from segmento.cli import match_commands
    from segmento.cli.convert_command import convert_command

    group.add_command(validate_command)
    group.add_command(fmt_command)
    group.add_command(convert_command)
    group.add_command(compile_command)
    match_commands.register(group)


# --- validate -------------------------------------------------------------------------------


@click.command("validate")
@PATHS_ARGUMENT
@fields_option
@format_option("Print problems as text on standard error, or as one JSON document on standard output.")
def validate_command(paths: tuple[Path, ...], catalog: Path | None, output_format: str) -> None:
    """Check rule files (.seg, .json) and directories of them, as one rule set.

    Besides each segment's own problems, this checks that segment ids are unique
    across the files and that every referenced segment exists, with no cycles.
    """
    printer = ProblemPrinter()
    try:
        registry = load_registry(catalog)
    except SegmentoError as error:
        _fail_validation(printer, output_format, error)
    files, problems = _validate_paths(paths, registry, printer)
    if output_format == "json":
        click.echo(_json_report(files, problems, printer))
    else:
        _print_report(files, problems, printer)
    if problems:
        raise SystemExit(EXIT_INVALID)


FileCounts = list[tuple[Path, int | None]]
"""Each rule file with its number of segments, or ``None`` when it could not be read."""


def _print_report(files: FileCounts, problems: list[SegmentoError], printer: ProblemPrinter) -> None:
    """Print problems on standard error and ``ok FILE (N segments)`` for each file without any."""
    by_source = _by_source(problems)
    sources = {str(path) for path, _ in files}
    for problem in problems:
        if (problem.location.source or "") not in sources:
            printer.echo(problem)
    for path, count in files:
        file_problems = by_source.get(str(path), [])
        for problem in file_problems:
            printer.echo(problem)
        if not file_problems and count is not None:
            click.echo(f"ok {path} ({_plural(count, 'segment')})")
    if problems:
        failing = sum(1 for path, _ in files if str(path) in by_source)
        click.echo(f"{_plural(len(problems), 'problem')} in {failing} of {_plural(len(files), 'file')}", err=True)


def _json_report(files: FileCounts, problems: list[SegmentoError], printer: ProblemPrinter) -> str:
    by_source = _by_source(problems)
    report = {
        "ok": not problems,
        "files": [
            {"path": str(path), "segments": count, "problems": len(by_source.get(str(path), []))}
            for path, count in files
        ],
        "problems": [printer.to_dict(problem) for problem in problems],
    }
    return json.dumps(report, ensure_ascii=False, indent=2)


def _by_source(problems: list[SegmentoError]) -> dict[str, list[SegmentoError]]:
    grouped: dict[str, list[SegmentoError]] = {}
    for problem in problems:
        grouped.setdefault(problem.location.source or "", []).append(problem)
    return grouped


def _validate_paths(
    paths: Sequence[Path], registry: Registry, printer: ProblemPrinter
) -> tuple[FileCounts, list[SegmentoError]]:
    """Return each file with its segment count (``None`` when it did not parse in full), and every problem.

    All segments are validated together, so duplicate ids and references are checked
    across files (``rule_input.check_rule_files``).
    """
    checked = check_rule_files(paths, registry, printer)
    return checked.counts, checked.problems


def _fail_validation(printer: ProblemPrinter, output_format: str, error: SegmentoError) -> NoReturn:
    """Report a problem that stops validation before any file is read, and exit with status 1."""
    if output_format == "json":
        click.echo(_json_report([], flatten([error]), printer))
    else:
        printer.echo(error)
    raise SystemExit(EXIT_INVALID)


# --- fmt --------------------------------------------------------------------------------------


@click.command("fmt")
@PATHS_ARGUMENT
@click.option(
    "--check",
    is_flag=True,
    help="List the files that would change without writing them, and exit with status 1 if there are any.",
)
@fields_option
def fmt_command(paths: tuple[Path, ...], check: bool, catalog: Path | None) -> None:
    """Rewrite rule files in canonical form, keeping the comments of .seg files.

    A .seg file gets the DSL formatter's text and a .json file the canonical JSON form.
    A file that does not parse is reported as an error and left unchanged. A file that
    parses is formatted even when its rules are invalid, as code formatters do, and each
    validation problem is printed as a warning that does not change the exit status.
    References to segments outside the files are not checked; run validate for that.
    """
    printer = ProblemPrinter()
    try:
        registry = load_registry(catalog)
    except SegmentoError as error:
        exit_invalid(printer, error)
    files, problems = expand_paths(paths)
    for problem in problems:
        printer.echo(problem)
    outcomes: dict[str, int] = {}
    segments: list[Segment] = []
    for path in files:
        formatted = _format_file(path, check, printer)
        if formatted is not None:
            outcome, file_segments = formatted
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
            segments.extend(file_segments)
    try:
        validate_segments(segments, registry, known_segments=None)
    except RuleError as error:
        printer.echo(error, "warning")
    changed = outcomes.get("changed", 0)
    verb = "would be reformatted" if check else "reformatted"
    summary = f"{_plural(changed, 'file')} {verb}, {outcomes.get('unchanged', 0)} unchanged"
    if printer.count:
        summary += f", {_plural(printer.count, 'problem')}"
    if printer.warnings:
        reported = "it as an error" if printer.warnings == 1 else "them as errors"
        summary += f", {_plural(printer.warnings, 'validation warning')} (segmento validate reports {reported})"
    click.echo(summary, err=True)
    if printer.count or (check and changed):
        raise SystemExit(EXIT_INVALID)


def _format_file(
    path: Path, check: bool, printer: ProblemPrinter
) -> tuple[Literal["changed", "unchanged"], list[Segment]] | None:
    """Format one file, or only tell whether it would change with ``check``.

    Returns ``"changed"`` or ``"unchanged"`` with the segments that the file now contains,
    so that validation warnings point at its current lines, or ``None`` after printing
    the problem when the file could not be read, formatted or written.
    """
    from segmento.cli.canonical import canonical_text, write_text

    try:
        rule_file = read_rule_file(path)
        printer.remember(rule_file.source, rule_file.text)
        text = canonical_text(rule_file)
    except SegmentoError as error:
        printer.echo(error)
        return None
    if text.encode("utf-8") == rule_file.data:
        return "unchanged", rule_file.segments
    if check:
        click.echo(f"would reformat {path}")
        return "changed", rule_file.segments
    try:
        write_text(path, text)
    except OSError as error:
        printer.echo(RuleError(f"failed to write the file: {error.strerror}", location=Location(source=str(path))))
        return None
    click.echo(f"reformatted {path}")
    printer.remember(rule_file.source, text)
    # canonical_text checked that the new text parses to the same segments; these carry its lines.
    return "changed", parse_rule_text(path, text)


# --- compile ------------------------------------------------------------------------------------


@click.command("compile")
@click.argument("rule", type=click.Path(path_type=Path))
@click.option("--target", default="sql", show_default=True, help="Target to compile for: sql, or one a plugin adds.")
@click.option(
    "--dialect",
    type=click.Choice(SQL_DIALECTS),
    default="sqlite",
    show_default=True,
    help="SQL database to write the query for (target sql).",
)
@segment_option
@fields_option
@as_of_option
@timezone_option
@format_option("Print the query as text, or as JSON with the SQL and its parameters.")
def compile_command(
    rule: Path,
    target: str,
    dialect: str,
    segment_id: str | None,
    catalog: Path | None,
    as_of: datetime | None,
    timezone: str,
    output_format: str,
) -> None:
    """Print the query that selects the members of each segment in RULE, with its bound parameters.

    Time windows are fixed for --as-of, so the parameters are instants, never 'now'.
    """
    from segmento.cli.compile_targets import compile_for_target, target_problem

    printer = ProblemPrinter()
    try:
        registry = load_registry(catalog)
    except SegmentoError as error:
        exit_invalid(printer, error)
    problem = target_problem(target, registry)
    if problem is not None:
        raise click.BadParameter(problem, param_hint="'--target'")
    try:
        rule_file = read_rule_file(rule)
        printer.remember(rule_file.source, rule_file.text)
        validate_segments(rule_file.segments, registry, known_segments=None)
        segments = rule_file.segments if segment_id is None else [pick_segment(rule_file, segment_id)]
        results = [compile_for_target(target, segment, registry, dialect, as_of, timezone) for segment in segments]
    except SegmentoError as error:
        exit_invalid(printer, error)
    if output_format == "json":
        click.echo(encode_json([{"segment": segment.id, **result.document} for segment, result in zip(segments, results)]))
        return
    for position, (segment, result) in enumerate(zip(segments, results)):
        if position:
            click.echo()
        click.echo(f"-- segment {segment.id}: {segment.name}")
        click.echo(result.text)


# --- helpers ------------------------------------------------------------------------------------


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
