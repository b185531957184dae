"""Progress of a long import: a rich progress bar on a terminal, log lines otherwise.

The log lines are ``key=value`` pairs, one every ``LOG_EVERY_SECONDS``, so a job log
(Airflow, cron) shows the import moving without a line per row.
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Final, Protocol

logger = logging.getLogger(__name__)

LOG_EVERY_SECONDS: Final = 5.0


class Progress(Protocol):
    """Receives the state of one file's import as it is read."""

    def start(self, file_name: str, total_bytes: int) -> None: ...

    def update(self, position: int, rows: int, rejected: int) -> None: ...

    def finish(self) -> None: ...


class LogProgress:
    """Logs ``import progress file=... rows=... rejected=... percent=...`` every few seconds."""

    def __init__(self, every_seconds: float = LOG_EVERY_SECONDS) -> None:
        self.every_seconds = every_seconds
        self._file = ""
        self._total = 1
        self._last = 0.0
        self._started = 0.0

    def start(self, file_name: str, total_bytes: int) -> None:
        self._file = file_name
        self._total = max(total_bytes, 1)
        self._started = self._last = time.monotonic()

    def update(self, position: int, rows: int, rejected: int) -> None:
        now = time.monotonic()
        if now - self._last < self.every_seconds:
            return
        self._last = now
        rate = rows / max(now - self._started, 1e-9)
        logger.info(
            "import progress file=%s rows=%d rejected=%d percent=%.0f rows_per_second=%.0f",
            self._file,
            rows,
            rejected,
            100 * position / self._total,
            rate,
        )

    def finish(self) -> None:
        return None


class BarProgress:
    """A rich progress bar on standard error, advanced by compressed bytes read."""

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.percentage:>3.0f}%"),
            TextColumn("{task.fields[rows]:>9,} rows, {task.fields[rejected]:,} rejected"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=False,
        )
        self._task: int | None = None
        self._total = 1

    def start(self, file_name: str, total_bytes: int) -> None:
        self._total = max(total_bytes, 1)
        self._progress.start()
        self._task = self._progress.add_task(file_name, total=self._total, rows=0, rejected=0)

    def update(self, position: int, rows: int, rejected: int) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=position, rows=rows, rejected=rejected)

    def finish(self) -> None:
        if self._task is not None:
            self._progress.update(self._task, completed=self._total)
        self._progress.stop()


def default_progress() -> Progress:
    """Return a progress bar when standard error is a terminal, log lines otherwise."""
    if sys.stderr.isatty():
        return BarProgress()
    return LogProgress()
