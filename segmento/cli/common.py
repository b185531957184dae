"""Helpers shared by the command modules: logging setup and error output."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

import click

from segmento.engine.errors import Location, SegmentoError

EXIT_INVALID = 1
EXIT_USAGE = 2

CONFIG_OPTION = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("segmento.yaml"),
    show_default=True,
    help="Workspace config file (YAML).",
)
WORKSPACE_OPTION = click.option("--workspace", help="Use only the workspace with this name.")


def configure_logging(level: int) -> None:
    """Send log records to standard error as ``time level logger: message``."""
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def log_progress_off_terminal() -> None:
    """Log ``segmento`` records at info level when standard error is not a terminal.

    A long command shows its progress as a bar on a terminal. Elsewhere (cron, Airflow,
    a pipe) there is no bar, so its ``key=value`` progress lines and the start and end
    of each step go to the log instead, without ``-v``. A level set with ``-vv`` stays.
    The previous level comes back when the command ends, so a command invoked inside a
    longer-lived process (a test, an Airflow task) does not change that process's logging.
    """
    segmento_logger = logging.getLogger("segmento")
    if not sys.stderr.isatty() and segmento_logger.getEffectiveLevel() > logging.INFO:
        previous = segmento_logger.level
        segmento_logger.setLevel(logging.INFO)
        context = click.get_current_context(silent=True)
        if context is not None:
            context.call_on_close(lambda: segmento_logger.setLevel(previous))


def fail(error: SegmentoError | str, status: int = EXIT_INVALID) -> NoReturn:
    """Print ``error`` to standard error and exit with ``status``."""
    click.echo(f"error: {error}", err=True)
    sys.exit(status)


def workspace_error(name: str, error: Exception, text: str | None = None) -> str:
    """Return the error line of one workspace: ``error: workspace NAME: TEXT``.

    ``text`` is the message to show, ``str(error)`` by default. An error located inside
    the workspace's own settings (``segmento.yaml#/workspaces/NAME/...``) already names
    the workspace, so its line does not repeat the name.
    """
    text = str(error) if text is None else text
    own_settings = Location(pointer="").child("workspaces", name).pointer or ""
    if isinstance(error, SegmentoError) and (error.location.pointer or "").startswith(own_settings + "/"):
        return f"error: {text}"
    return f"error: workspace {name}: {text}"


def store_error_text(error: Exception, url: str | None) -> str:
    """Return the message of an error about the store at ``url``, with its password masked.

    A database error is cut to its first line, so the SQL statement is not repeated.
    """
    from segmento.adapters.retry import error_summary
    from segmento.adapters.urls import mask_url, redact

    if isinstance(error, SegmentoError) or url is None:
        text = str(error)
    else:
        text = f"store {mask_url(url)} failed: {error_summary(error)}"
    return redact(text, [url])


def exit_if_failed(failed: Sequence[str], total: int) -> None:
    """Exit with status 1 when workspaces failed, after naming them all when there were several."""
    if not failed:
        return
    if total > 1:
        click.echo(f"error: {len(failed)} of {total} workspaces failed: {', '.join(failed)}", err=True)
    sys.exit(EXIT_INVALID)
