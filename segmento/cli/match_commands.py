"""Commands that evaluate one rule on customer profiles: match and explain."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from segmento.cli.match_backends import (
    MEMORY,
    SQLITE,
    BackendType,
    MatchResult,
    masking_logs,
    match_in_database,
    match_in_memory,
    match_in_sqlite,
    secret_masker,
)
from segmento.cli.problems import ProblemPrinter, keep_text
from segmento.cli.rule_input import (
    as_of_option,
    exit_invalid,
    fields_option,
    format_option,
    load_registry,
    load_rule,
    segment_option,
    timezone_option,
)
from segmento.engine.ast import Segment
from segmento.engine.errors import DataError, Location, SegmentoError
from segmento.engine.registry import Registry

logger = logging.getLogger(__name__)

RULE_ARGUMENT = click.argument("rule", type=click.Path(path_type=Path))


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    group.add_command(match_command)
    group.add_command(explain_command)


@click.command("match")
@RULE_ARGUMENT
@click.option(
    "--profiles",
    "profiles_path",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Profiles as JSON Lines: one JSON object per line, each with an id.",
)
@segment_option
@fields_option
@as_of_option
@timezone_option
@click.option(
    "--backend",
    type=BackendType(),
    default=MEMORY,
    show_default=True,
    help="Where to evaluate: memory (the reference evaluator), sqlite (a temporary SQLite store), "
    "or a database URL such as mysql+pymysql://user@127.0.0.1:3306/db, whose database gets the "
    "profile tables for the run and must not have them yet.",
)
def match_command(
    rule: Path,
    profiles_path: Path,
    segment_id: str | None,
    catalog: Path | None,
    as_of: datetime | None,
    timezone: str,
    backend: str,
) -> None:
    """Print the ids of the profiles that RULE's segment selects, sorted, one per line.

    A count of matches goes to standard error, so standard output contains only ids.
    """
    from segmento.engine.profiles import read_profiles_jsonl

    mask = secret_masker(backend) if backend not in (MEMORY, SQLITE) else keep_text
    printer = ProblemPrinter(mask)
    instant = as_of if as_of is not None else datetime.now(UTC)
    with masking_logs(mask):
        try:
            registry = load_registry(catalog)
            segment = load_rule(rule, registry, segment_id, printer)
            profiles = read_profiles_jsonl(profiles_path, registry)
            result = _run(backend, segment, profiles, registry, instant, timezone)
        except SegmentoError as error:
            exit_invalid(printer, error)
    for profile_id in result.ids:
        click.echo(profile_id)
    logger.info("segment %s on backend %s: %d of %d profiles", segment.id, mask(backend), len(result.ids), result.total)
    click.echo(f"{len(result.ids)} of {result.total} profiles match segment {segment.id}", err=True)


def _run(
    backend: str,
    segment: Segment,
    profiles: Iterable[Mapping[str, Any]],
    registry: Registry,
    as_of: datetime,
    timezone: str,
) -> MatchResult:
    if backend == MEMORY:
        return match_in_memory(segment, profiles, registry, as_of, timezone)
    if backend == SQLITE:
        return match_in_sqlite(segment, profiles, registry, as_of, timezone)
    return match_in_database(backend, segment, profiles, registry, as_of, timezone)


@click.command("explain")
@RULE_ARGUMENT
@click.option(
    "--profile",
    "profile_text",
    required=True,
    help="The customer's profile: the path of a JSON file, or the JSON object itself ('{\"id\": ...}').",
)
@segment_option
@fields_option
@as_of_option
@timezone_option
@format_option("Print the explanation as an indented tree, or as JSON.")
def explain_command(
    rule: Path,
    profile_text: str,
    segment_id: str | None,
    catalog: Path | None,
    as_of: datetime | None,
    timezone: str,
    output_format: str,
) -> None:
    """Show, condition by condition, why a profile is or is not in RULE's segment.

    Each line is marked ✓ (true) or ✗ (false) and gives the profile's value and the
    rule's value that decided it.
    """
    from segmento.engine.explain import explain
    from segmento.engine.profiles import coerce_profile

    printer = ProblemPrinter()
    try:
        registry = load_registry(catalog)
        segment = load_rule(rule, registry, segment_id, printer)
        content, source = read_profile_argument(profile_text)
        printer.remember(source, content)
        profile = coerce_profile(parse_profile(content, source), registry, source=source)
        explanation = explain(segment, profile, registry=registry, as_of=as_of, timezone=timezone)
    except SegmentoError as error:
        exit_invalid(printer, error)
    if output_format == "json":
        click.echo(json.dumps(explanation.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(explanation.render())


def read_profile_argument(text: str) -> tuple[str, str]:
    """Return the JSON text that ``--profile`` gives, inline or in a file, and its name for errors.

    Text that starts with ``{`` is the profile itself, and anything else is a file path.
    Raises ``DataError`` when the file cannot be read.
    """
    if text.lstrip().startswith("{"):
        return text, "--profile"
    path = Path(text)
    try:
        content = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError(
            "profile file not found",
            location=Location(source=text),
            hint="Give the path of a JSON file, or the profile itself as a JSON object",
            code="profile_file_not_found",
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataError(
            f"cannot read the profile file: {error}",
            location=Location(source=text),
            hint="Give a UTF-8 JSON file that contains one profile object",
            code="profile_file_unreadable",
        ) from None
    return content, text


def parse_profile(text: str, source: str) -> Any:
    """Parse one profile's JSON text, reading fractions as ``Decimal``.

    Raises ``DataError`` with the line and column of a syntax error.
    """
    try:
        return json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as error:
        raise DataError(
            f"invalid JSON: {error.msg}",
            location=Location(source=source, line=error.lineno, column=error.colno),
            hint='Write the profile as one JSON object, such as {"id": "17850", "city": "Hà Nội"}',
            code="profile_invalid_json",
        ) from None
