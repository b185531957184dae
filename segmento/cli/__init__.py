"""The ``segmento`` command.

Exit status: 0 on success, 1 when rules or input data are invalid, 2 for usage errors.
Errors go to standard error. Each command group lives in its own module.
"""

from __future__ import annotations

import logging
import sys

import click

from segmento import __version__
from segmento.cli.common import configure_logging


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="segmento")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log more: -v for info, -vv for debug. Without a terminal on standard error, "
    "'segmento run' logs info even without -v, in place of its progress bar.",
)
def main(verbose: int) -> None:
    """Validate, compile and evaluate customer segment rules."""
    configure_logging(logging.WARNING - 10 * verbose)


def _register_commands() -> None:
    from segmento.cli import db_commands, rules_commands, shopdb_commands

    rules_commands.register(main)
    db_commands.register(main)
    shopdb_commands.register(main)
    try:
        from segmento.cli import job_commands
    except ImportError:  # NOTE: the job commands land with the profile pipeline.
        return
    job_commands.register(main)


_register_commands()


if __name__ == "__main__":
    sys.exit(main())
