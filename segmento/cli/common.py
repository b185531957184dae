"""Helpers shared by the command modules: logging setup and error output."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import NoReturn

import click

from segmento.engine.errors import SegmentoError

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
    """
    segmento_logger = logging.getLogger("segmento")
    if not sys.stderr.isatty() and segmento_logger.getEffectiveLevel() > logging.INFO:
        segmento_logger.setLevel(logging.INFO)


def fail(error: SegmentoError | str, status: int = EXIT_INVALID) -> NoReturn:
    """Print ``error`` to standard error and exit with ``status``."""
    click.echo(f"error: {error}", err=True)
    sys.exit(status)
