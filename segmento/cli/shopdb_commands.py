"""Commands on the mapping of a shop's own database: ``segmento shopdb draft`` and ``segmento shopdb check``.

``draft`` writes a first mapping file from the shop's schema. ``check`` compares a
mapping with the live database and shows what an import would read, without writing
to any store. Exit status: 0 when the mapping has no problem (warnings allowed), 1
when it has problems or the database cannot be read, 2 for usage errors. Database
URLs come from the environment (``env:NAME``), never with a password on the command
line, and every printed URL has its password masked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from segmento.cli.common import EXIT_INVALID, EXIT_USAGE, fail
from segmento.engine.errors import SegmentoError

logger = logging.getLogger(__name__)

DEFAULT_VARIABLE = "SHOP_DB_URL"


def register(group: click.Group) -> None:
    """Add the ``shopdb`` command group to ``group``."""
    group.add_command(shopdb_group)


@click.group("shopdb")
def shopdb_group() -> None:
    """Draft and check the mapping file of a shop's own MySQL or MariaDB database."""


# --- check ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A mapping file to check, and the workspace source it belongs to, if any."""

    path: Path
    label: str | None = None


@shopdb_group.command("check")
@click.argument("mapping_path", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("segmento.yaml"),
    show_default=True,
    help="Workspace config file (YAML) whose shopdb sources are checked when no mapping file is given.",
)
@click.option("--workspace", help="Check only the shopdb sources of the workspace with this name.")
@click.option(
    "--sample",
    "sample_size",
    type=click.IntRange(0, 100),
    default=3,
    show_default=True,
    help="Number of sample rows shown per table, converted as the import converts them.",
)
@click.option(
    "--exact",
    is_flag=True,
    help="Count rows and read column values from every row of the mapped tables, instead of the database's row "
    "estimates, indexes and samples of 10,000 rows. This scans whole tables on the shop's server.",
)
def check_command(mapping_path: Path | None, config_path: Path, workspace: str | None, sample_size: int, exact: bool) -> None:
    """Check a shop database mapping against the live database, and show what an import would read.

    Give a mapping file, or leave it out to check the shopdb sources of the workspace
    config. Every problem is listed, with the mapping file's line: missing tables and
    columns, unfit types, keys that are not unique, a missing environment variable.
    Warnings (a watermark without an index or that may be NULL, codes not listed) do
    not change the exit status. Nothing is written to any store, and no workspace's
    store is opened, so the environment variables of store URLs need not be set.
    """
    from segmento.adapters.shopdb.check import check_shopdb

    if mapping_path is not None and workspace is not None:
        fail("give a mapping file or --workspace, not both", status=EXIT_USAGE)
    targets = [_Target(mapping_path)] if mapping_path is not None else _config_targets(config_path, workspace)
    failed = False
    for index, target in enumerate(targets):
        if index:
            click.echo("")
        report = check_shopdb(target.path, samples=sample_size, exact=exact)
        _print_check(report, target)
        failed = failed or not report.ok
    if failed:
        raise SystemExit(EXIT_INVALID)


def _config_targets(config_path: Path, workspace: str | None) -> list[_Target]:
    from segmento.adapters.shopdb.copy import ShopDbSource
    from segmento.adapters.workspace import load_config, select_workspaces

    try:
        workspaces = select_workspaces(load_config(config_path), workspace)
    except SegmentoError as error:
        fail(error)
    targets = [
        _Target(source.mapping, f"workspace {item.name}, source {source.name}")
        for item in workspaces
        for source in item.sources
        if isinstance(source, ShopDbSource)
    ]
    if not targets:
        where = f"workspace {workspace!r}" if workspace else str(config_path)
        fail(
            f"{where} has no source with format: shopdb; pass a mapping file, for example "
            "'segmento shopdb check shopdb-mapping.yaml'",
            status=EXIT_USAGE,
        )
    return targets


def _print_check(report: Any, target: _Target) -> None:
    from segmento.adapters.urls import redact
    from segmento.cli.problems import ProblemPrinter

    label = f" ({target.label})" if target.label else ""
    click.echo(f"checking {report.mapping_path}{label}")
    if report.database:
        click.echo(f"shop database: {report.database}")
    # A source line shown under a problem may be a url with a password written in it.
    printer = ProblemPrinter(mask=redact)
    try:
        printer.remember(str(report.mapping_path), report.mapping_path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError):
        pass
    for problem in report.errors:
        printer.echo(problem)
    for warning in report.warnings:
        printer.echo(warning, "warning")
    if report.errors and not report.schema_checked and report.database is None:
        click.echo("the live schema was not checked: fix the source url problems above first", err=True)
    for table in report.tables:
        _print_table(table)
    for note in report.notes:
        click.echo(f"note: {note}")
    counts = f"{_plural(len(report.errors), 'problem')}, {_plural(len(report.warnings), 'warning')}"
    if report.errors:
        click.echo(f"{counts} in {report.mapping_path}", err=True)
    else:
        click.echo(f"ok {report.mapping_path}: {counts}; an import would read the rows above")


def _print_table(table: Any) -> None:
    for line in table.describe():
        click.echo(line)
    for sample in table.samples:
        click.echo(f"  {_sample(sample)}")
        for line in sample.lines:
            click.echo(f"    line {_sample(line)}")
        if sample.more_lines:
            click.echo(f"    ... and {_plural(sample.more_lines, 'more line')}")


def _sample(sample: Any) -> str:
    if sample.outcome is not None:
        return f"{sample.key}: {sample.outcome}"
    return f"{sample.key}: " + ", ".join(f"{name}={value}" for name, value in sample.values)


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" if count == 1 else f"{count:,} {noun}s"


# --- draft ----------------------------------------------------------------------------------


@shopdb_group.command("draft")
@click.argument("database")
@click.option(
    "-o",
    "--output",
    "output_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the mapping to this file instead of standard output.",
)
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@click.option(
    "--tz",
    "timezone",
    default="Asia/Ho_Chi_Minh",
    show_default=True,
    help="Time zone (IANA name) of the shop's naive DATETIME values, written into the draft.",
)
@click.option(
    "--exact",
    is_flag=True,
    help="Read the values of code columns from every row, instead of from an index or a sample of 10,000 rows. "
    "This scans whole tables on the shop's server.",
)
def draft_command(database: str, output_path: Path | None, force: bool, timezone: str, exact: bool) -> None:
    """Write a first mapping file from the schema of the shop database DATABASE.

    DATABASE is env:NAME, an environment variable that contains the URL, or a URL without
    a password. The draft's url is ${NAME} (${SHOP_DB_URL} for a URL), never the URL
    itself. Each guessed table, column and watermark has a comment with the confidence
    of the guess and the alternatives considered. Fields not found are commented-out
    lines marked TODO. Check the draft with 'segmento shopdb check'.
    """
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    from segmento.adapters.shopdb.draft import draft_mapping
    from segmento.adapters.shopdb.draft_yaml import render
    from segmento.adapters.shopdb.schema_info import read_schema
    from segmento.adapters.urls import create_engine, mask_url, redact
    from segmento.cli.match_backends import url_from_argument
    from segmento.engine.temporal import load_timezone

    try:
        url_text = url_from_argument(database)
    except click.BadParameter as error:
        fail(f"DATABASE: {error.message}", status=EXIT_USAGE)
    variable = database[len("env:") :] if database.startswith("env:") else DEFAULT_VARIABLE
    try:
        load_timezone(timezone)
    except SegmentoError as error:
        fail(f"--tz: {error}", status=EXIT_USAGE)
    if output_path is not None and output_path.exists() and not force:
        fail(f"{output_path} exists; pass --force to overwrite it", status=EXIT_USAGE)
    try:
        url = sa.make_url(url_text)
        engine = create_engine(url, poolclass=NullPool)
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ValueError, ImportError) as error:
        fail(f"DATABASE is not a usable database URL ({type(error).__name__}): {redact(str(error), [url_text])}", status=EXIT_USAGE)
    display = mask_url(url)
    try:
        with engine.connect() as connection:
            schema = read_schema(connection)
            draft = draft_mapping(connection, schema, url_variable=variable, url_display=display, timezone=timezone, exact=exact)
    except sa.exc.SQLAlchemyError as error:
        fail(f"reading the schema of {display} failed: {redact(str(getattr(error, 'orig', error)), [url])}")
    finally:
        engine.dispose()
    if not schema:
        fail(f"the shop database {display} has no tables; check the database name in the URL")

    text = render(draft, str(output_path) if output_path is not None else "MAPPING.yaml")
    if output_path is None:
        click.echo(text, nl=False)
    else:
        output_path.write_text(text, encoding="utf-8")
    _print_draft_summary(draft, output_path, variable)


def _print_draft_summary(draft: Any, output_path: Path | None, variable: str) -> None:
    found = ", ".join(f"{role} = {table.table.value} ({table.table.confidence})" for role, table in draft.tables.items())
    where = str(output_path) if output_path is not None else "standard output"
    click.echo(f"wrote a draft mapping to {where}: {found or 'no tables recognised'}", err=True)
    for note in draft.notes:
        click.echo(f"warning: {note}", err=True)
    todos = draft.todo_count()
    if todos:
        click.echo(f"{_plural(todos, 'value')} to fill in: see the lines marked TODO", err=True)
    target = output_path if output_path is not None else "MAPPING.yaml"
    click.echo(f"next: export {variable}=..., review the guesses, then run 'segmento shopdb check {target}'", err=True)
