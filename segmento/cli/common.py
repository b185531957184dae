"""Helpers shared by the command modules: logging setup and error output."""

from __future__ import annotations

import logging
import sys
from typing import NoReturn

import click

from segmento.engine.errors import SegmentoError

EXIT_INVALID = 1
EXIT_USAGE = 2


def configure_logging(level: int) -> None:
    """Send log records to standard error as ``time level logger: message``."""
    logging.basicConfig(
        level=max(level, logging.DEBUG),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


def fail(error: SegmentoError | str, status: int = EXIT_INVALID) -> NoReturn:
    """Print ``error`` to standard error and exit with ``status``."""
    click.echo(f"error: {error}", err=True)
    sys.exit(status)
