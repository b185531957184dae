"""Commands that run the pipeline on a workspace: run, profile, segment show."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from segmento.cli.common import CONFIG_OPTION, WORKSPACE_OPTION, exit_if_failed, store_error_text, workspace_error
from segmento.engine.errors import SegmentoError

logger = logging.getLogger(__name__)

SKIPPED_LISTED = 10
"""The number of skipped segments the run summary names; the JSON report lists them all."""

UTC_OPTION = click.option(
    "--utc", "in_utc", is_flag=True, help="Show times in UTC instead of the workspace's time zone."
)


def register(group: click.Group) -> None:
    """Add this module's commands to ``group``."""
    group.add_command(run_command)
    group.add_command(profile_command)
    group.add_command(segment_group)


@click.command("run")
@CONFIG_OPTION
@WORKSPACE_OPTION
@click.option("--as-of", "as_of", help="Evaluate as of this time (ISO 8601; without an offset it is shop time). Default: the workspace's as_of, else now.")
@click.option("--tz", "timezone", help="Shop time zone (IANA name) for --as-of and calendar windows. Default: the workspace's.")
@click.option(
    "--store",
    "store_url",
    callback=lambda ctx, param, value: _store_argument(value),
    help="Store to use instead of the config's: env:NAME reads the URL from environment variable NAME; "
    "a URL given here must not contain a password. Needs --workspace when the config has several.",
)
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here instead of the workspace's reports directory.")
def run_command(
    config_path: Path,
    workspace: str | None,
    as_of: str | None,
    timezone: str | None,
    store_url: str | None,
    report_path: Path | None,
) -> None:
    """Import new data, update profiles and evaluate every segment rule of each workspace.

    On a terminal, imports show a progress bar. When standard error is not a terminal
    (cron, Airflow, a pipe), progress lines and the start and end of each step are
    logged at info level instead, without -v.

    A workspace whose store URL refers to an environment variable that is not set is
    reported before any run starts. The other workspaces still run, and the command
    ends with status 1 and the names of the workspaces that failed.
    """
    from segmento.adapters.ingest.progress import default_progress
    from segmento.adapters.runs import run_workspace
    from segmento.cli.common import fail, log_progress_off_terminal

    workspaces = _workspaces(config_path, workspace)
    if store_url and len(workspaces) > 1:
        fail("--store needs --workspace, because the config has several workspaces", status=2)
    log_progress_off_terminal()
    instant = _parse_as_of(as_of)
    console = _console()
    failed: set[str] = set()
    ready = []
    for item in workspaces:
        try:
            ready.append(item.with_store(store_url) if store_url else item.resolve_store())
        except SegmentoError as error:
            failed.add(item.name)
            click.echo(workspace_error(item.name, error), err=True)
    for item in ready:
        try:
            report = run_workspace(
                item, as_of=instant, timezone=timezone, progress=default_progress(), report_path=report_path
            )
        except SegmentoError as error:
            failed.add(item.name)
            click.echo(workspace_error(item.name, error), err=True)
            continue
        _print_report(console, report)
    exit_if_failed([item.name for item in workspaces if item.name in failed], len(workspaces))


@click.command("profile")
@click.argument("customer_id")
@CONFIG_OPTION
@WORKSPACE_OPTION
@UTC_OPTION
def profile_command(customer_id: str, config_path: Path, workspace: str | None, in_utc: bool) -> None:
    """Print one customer's profile: aggregates, interests, top viewed products and segments.

    Times are shown in the workspace's time zone with their UTC offset, or in UTC with --utc.
    """
    from segmento.adapters.run_reports import profile_details
    from segmento.cli.charts import bar_chart
    from segmento.cli.instants import show_value

    workspaces = _workspaces(config_path, workspace)
    failed: list[str] = []
    for item in workspaces:
        store = _open_for_reading(item, failed)
        details = profile_details(store, customer_id) if store is not None else None
        if details is None:
            continue
        zone, zone_name = _display_zone(item, in_utc)
        console = _console()
        console.print(f"[bold]Customer {details.id}[/bold] (workspace {item.name}, times in {zone_name})")
        table = Table("field", "value", show_header=False, box=None, padding=(0, 2))
        for name in sorted(details.fields):
            table.add_row(name, show_value(details.fields[name], zone))
        for name in ("short_term_interests",):
            if name in details.collections:
                table.add_row(name, ", ".join(f"{rank}. {key}" for rank, key in enumerate(details.collections[name], 1)))
        console.print(table)
        interests = details.collections.get("long_term_interests") or {}
        if interests:
            ranked = sorted(interests.items(), key=lambda item: (-item[1], item[0]))
            console.print(bar_chart(ranked[:10], title="long-term interests, top 10", value_label="score"))
        products = details.top_viewed_products()
        if products:
            console.print("top viewed products: " + ", ".join(f"{product} ({count})" for product, count in products))
        if details.event_counts:
            console.print("events: " + ", ".join(f"{kind} {count:,}" for kind, count in sorted(details.event_counts.items())))
        if details.segments:
            console.print("segments:")
            for membership in details.segments:
                console.print(f"  {membership.segment_id}  since {show_value(membership.joined_at, zone)} (run {membership.joined_run})")
        else:
            console.print("segments: none")
        exit_if_failed(failed, len(workspaces))
        return
    searched = _names(workspaces, failed)
    if searched:
        click.echo(f"error: no profile with id {customer_id!r} in {searched}; check the id, or run 'segmento run' first", err=True)
    exit_if_failed(failed, len(workspaces))
    sys.exit(1)


@click.group("segment")
def segment_group() -> None:
    """Inspect evaluated segments."""


@segment_group.command("show")
@click.argument("segment_id")
@CONFIG_OPTION
@WORKSPACE_OPTION
@click.option("--sample", "sample_size", type=click.IntRange(0, 1000), default=10, show_default=True, help="Number of members to list.")
@UTC_OPTION
def segment_show(segment_id: str, config_path: Path, workspace: str | None, sample_size: int, in_utc: bool) -> None:
    """Print a segment's size, its history over runs and a sample of its members.

    Times are shown in the workspace's time zone with their UTC offset, or in UTC with --utc.
    """
    from segmento.adapters.run_reports import segment_details, segment_ids
    from segmento.cli.charts import bar
    from segmento.cli.instants import show_value
    from segmento.engine.catalog import closest

    workspaces = _workspaces(config_path, workspace)
    failed: list[str] = []
    known: list[str] = []
    for item in workspaces:
        store = _open_for_reading(item, failed)
        if store is None:
            continue
        details = segment_details(store, segment_id, sample_size)
        if details is None:
            known.extend(segment_ids(store))
            continue
        zone, zone_name = _display_zone(item, in_utc)
        console = _console()
        console.print(f"[bold]{details.id}[/bold] {details.name} (workspace {item.name}): {details.members:,} members")
        history = Table("run", f"as of ({zone_name})", "members", "", "joined", "left", "seconds", title="history, newest first")
        largest = max((run.members for run in details.history), default=0)
        for run in details.history:
            history.add_row(
                str(run.run_id),
                show_value(run.as_of, zone),
                f"{run.members:,}",
                bar(run.members, largest, width=20),
                f"{run.joined:,}",
                f"{run.left:,}",
                f"{run.seconds:.2f}",
            )
        console.print(history)
        if details.sample:
            console.print("sample of members: " + ", ".join(f"{item.profile_id} (since run {item.joined_run})" for item in details.sample))
        exit_if_failed(failed, len(workspaces))
        return
    searched = _names(workspaces, failed)
    if searched:
        suggestion = closest(segment_id, known)
        hint = f"did you mean {suggestion!r}? " if suggestion else ""
        click.echo(f"error: no segment {segment_id!r} has been evaluated in {searched}; {hint}run 'segmento run' first", err=True)
    exit_if_failed(failed, len(workspaces))
    sys.exit(1)


# --- helpers ------------------------------------------------------------------------------


def _store_argument(value: str | None) -> str | None:
    from segmento.cli.match_backends import url_from_argument

    return url_from_argument(value) if value else None


def _workspaces(config_path: Path, name: str | None) -> list[Any]:
    from segmento.adapters.workspace import load_config, select_workspaces
    from segmento.cli.common import fail

    try:
        return select_workspaces(load_config(config_path), name)
    except SegmentoError as error:
        fail(error)


def _open_for_reading(workspace: Any, failed: list[str]) -> Any:
    """Return the workspace's store for reading, or ``None`` when it has none yet or fails.

    A failure, such as an environment variable of the store URL that is not set or a
    server that cannot be reached, is printed and the workspace's name added to ``failed``.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from segmento.adapters.runs import open_existing_store

    url: str | None = None
    try:
        url = workspace.store_url
        return open_existing_store(workspace.with_store(url))
    except (SegmentoError, SQLAlchemyError) as error:
        failed.append(workspace.name)
        click.echo(workspace_error(workspace.name, error, store_error_text(error, url)), err=True)
        return None


def _names(workspaces: list[Any], failed: list[str]) -> str:
    """Return the names of the workspaces that did not fail, joined for a message."""
    return ", ".join(item.name for item in workspaces if item.name not in failed)


def _parse_as_of(text: str | None) -> datetime | None:
    from segmento.cli.common import EXIT_USAGE, fail

    if text is None:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        fail(f"--as-of {text!r} is not a date and time; write it as 2011-12-10T00:00:00 or 2011-12-10", status=EXIT_USAGE)


def _print_report(console: Console, report: Any) -> None:
    local = report.as_of.astimezone(_zone(report.timezone))
    console.print(f"[bold]{report.workspace}[/bold]: run {report.run_id} as of {local:%Y-%m-%d %H:%M} {report.timezone}")
    imports = Table("source", "read", "stored", "known", "rejected", "deleted", "seconds", "file", title="imports")
    for result in report.imports:
        note = f"{result.file_name}, imported before" if result.skipped else result.file_name
        imports.add_row(
            result.source,
            f"{result.read:,}",
            f"{result.stored:,}",
            f"{result.known:,}",
            f"{result.rejected:,}",
            f"{result.deleted:,}",
            f"{result.seconds:.1f}",
            note,
        )
    console.print(imports)
    for result in report.imports:
        reconciliation = result.reconciliation
        if reconciliation is not None and (reconciliation.rows_deleted or reconciliation.rows_copied):
            console.print(f"{result.source} reconciliation: {reconciliation.describe()}")
    if report.build is not None:
        build = report.build
        kind = "all" if build.full else "changed"
        console.print(f"profiles: {build.built:,} built ({kind}), {build.removed:,} removed, {build.seconds:.1f} s")
    if report.segments or not report.skipped:
        segments = Table("segment", "members", "joined", "left", "seconds", title="segments")
        for outcome in report.segments:
            segments.add_row(outcome.id, f"{outcome.members:,}", f"{outcome.joined:,}", f"{outcome.left:,}", f"{outcome.seconds:.2f}")
        console.print(segments)
    if report.skipped:
        console.print(_skipped_text(report.skipped, every=not report.segments))
    if report.retired:
        console.print("segments without a rule, emptied: " + ", ".join(report.retired))
    console.print(f"rejected rows: {report.rejected_rows:,} (listed in the rejects table with file, line and reason)")
    if report.report_path is not None:
        console.print(f"report: {report.report_path}")


def _skipped_text(skipped: dict[str, int], *, every: bool) -> str:
    """Return the summary line of the segments a run skipped (``evaluate: changed``), which keep their members.

    ``skipped`` maps each segment to the run that last evaluated it; ``every`` is true
    when the run evaluated no segment at all.
    """
    runs = sorted(set(skipped.values()))
    since = f"run {runs[0]}" if len(runs) == 1 else "their last evaluation (runs " + ", ".join(map(str, runs)) + ")"
    count = len(skipped)
    kept = "it keeps its members" if count == 1 else "they keep their members"
    reason = f"no rule or input changed since {since}, so {kept}"
    if every:
        return f"segments: all {count} skipped: {reason}"
    noun = "segment" if count == 1 else "segments"
    names = list(skipped)
    listed = ", ".join(names[:SKIPPED_LISTED]) + (f" and {count - SKIPPED_LISTED} more" if count > SKIPPED_LISTED else "")
    return f"{count} {noun} skipped ({listed}): {reason}"


def _console() -> Console:
    # Off a terminal rich assumes 80 columns and cuts table cells; logs and pipes have room.
    return Console(highlight=False) if sys.stdout.isatty() else Console(width=160, highlight=False)


def _zone(name: str) -> Any:
    from segmento.engine.temporal import load_timezone

    return load_timezone(name)


def _display_zone(workspace: Any, in_utc: bool) -> tuple[tzinfo, str]:
    """Return the time zone to show times in, and its name for headers."""
    if in_utc:
        return UTC, "UTC"
    return _zone(workspace.timezone), workspace.timezone
