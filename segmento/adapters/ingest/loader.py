"""Import one source file into the event and order tables, in one transaction.

The import is idempotent: a file whose checksum was imported before is skipped
without a write, and rows whose deterministic id is already stored are counted as
known and not written again. Rows are parsed as a stream and prepared for the driver
in a background thread while the previous batch is written (``batches``,
``prepared``), then written in batches (``writer``). Every row that is not stored goes
to ``rejects`` with its line number and reason. A problem with the file as a whole
(``DataError``) rolls the transaction back, so nothing of that file is half-written.

Customers whose rows were stored are added to ``dirty_profiles``, so the profile
builder rebuilds only them.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import Connection, Engine, select, update

from segmento.adapters.checkpoints import pause_after_statements
from segmento.adapters.ingest import jsonl, online_retail, rees46
from segmento.adapters.ingest.batches import BackgroundBatches
from segmento.adapters.ingest.items import Item
from segmento.adapters.ingest.model import imports, naive_utc
from segmento.adapters.ingest.progress import Progress
from segmento.adapters.ingest.readers import SourceFile, TextSource, inspect_file
from segmento.adapters.ingest.writer import BatchWriter
from segmento.engine.errors import DataError, Location
from segmento.engine.temporal import load_timezone

if TYPE_CHECKING:
    from segmento.adapters.shopdb.reconcile import ReconcileCounts

logger = logging.getLogger(__name__)

BATCH_SIZE: Final = 5000
FORMATS: Final[tuple[str, ...]] = (online_retail.FORMAT, rees46.FORMAT, jsonl.FORMAT)


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """One input of a workspace: a file of a known format.

    ``timezone`` is the zone of local times in the file that carry no offset.
    """

    name: str
    format: str
    path: Path
    timezone: str = "UTC"


@dataclass
class ImportResult:
    """Counts of one import. ``skipped`` is true when the file's checksum was imported before.

    ``reconciliation`` counts the rows that a shop database import's reconciliation
    deleted and copied. It is ``None`` for files and when no reconciliation ran. The
    rows it copied count in ``read`` and ``stored`` too.
    """

    source: str
    file_name: str
    checksum: str
    skipped: bool = False
    import_id: int | None = None
    read: int = 0
    stored: int = 0
    known: int = 0
    rejected: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    touched: set[str] = field(default_factory=set)
    seconds: float = 0.0
    reconciliation: ReconcileCounts | None = None

    @property
    def deleted(self) -> int:
        """Rows removed from the store because the source no longer has them."""
        return self.reconciliation.rows_deleted if self.reconciliation is not None else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "file": self.file_name,
            "checksum": self.checksum,
            "skipped": self.skipped,
            "import_id": self.import_id,
            "rows_read": self.read,
            "rows_stored": self.stored,
            "rows_known": self.known,
            "rows_rejected": self.rejected,
            "rows_deleted": self.deleted,
            "reject_reasons": dict(sorted(self.reasons.items())),
            "reconciliation": self.reconciliation.to_dict() if self.reconciliation is not None else None,
            "customers_touched": len(self.touched),
            "seconds": round(self.seconds, 3),
        }


def parse_source(spec: SourceSpec, text: TextSource) -> Iterator[Item]:
    """Return the item stream of ``text`` for the format that ``spec`` names."""
    if spec.format == online_retail.FORMAT:
        return online_retail.parse(text, load_timezone(spec.timezone))
    if spec.format == rees46.FORMAT:
        return rees46.parse(text)
    if spec.format == jsonl.FORMAT:
        return jsonl.parse(text, load_timezone(spec.timezone))
    raise DataError(
        f"unknown source format {spec.format!r}",
        location=Location(source=str(spec.path)),
        value=spec.format,
        hint="Use one of: " + ", ".join(FORMATS),
        code="unknown_format",
    )


def import_source(engine: Engine, spec: SourceSpec, progress: Progress | None = None) -> ImportResult:
    """Import ``spec``'s file unless its checksum was imported before; return what was done."""
    started = time.perf_counter()
    source = inspect_file(spec.path)
    result = ImportResult(spec.name, source.name, source.checksum)
    with engine.connect() as connection:
        previous = connection.execute(
            select(imports.c.id, imports.c.finished_at).where(
                imports.c.checksum == source.checksum, imports.c.format == spec.format
            )
        ).first()
    if previous is not None:
        result.skipped = True
        result.import_id = previous.id
        result.seconds = time.perf_counter() - started
        logger.info("import skipped: %s was imported before (import %d)", source.name, previous.id)
        return result
    with engine.begin() as connection:
        _run_import(connection, spec, source, result, progress)
    result.seconds = time.perf_counter() - started
    logger.info(
        "import done source=%s file=%s read=%d stored=%d known=%d rejected=%d customers=%d seconds=%.1f",
        spec.name,
        source.name,
        result.read,
        result.stored,
        result.known,
        result.rejected,
        len(result.touched),
        result.seconds,
    )
    return result


def _run_import(
    connection: Connection, spec: SourceSpec, source: SourceFile, result: ImportResult, progress: Progress | None
) -> None:
    pause_after_statements("import_statement", connection)
    now = naive_utc(datetime.now(UTC))
    import_id = connection.execute(
        imports.insert().values(
            source=spec.name,
            format=spec.format,
            file_name=source.name,
            checksum=source.checksum,
            started_at=now,
            finished_at=now,
        )
    ).inserted_primary_key[0]
    result.import_id = import_id
    writer = BatchWriter(connection, import_id, spec.name, source.name, result)
    if progress is not None:
        progress.start(source.name, source.size)
    try:
        with BackgroundBatches(source, partial(parse_source, spec), BATCH_SIZE, writer.preparer) as batches:
            for batch in batches:
                writer.write(batch.prepared)
                if progress is not None:
                    progress.update(batch.position, result.read, result.rejected)
            if progress is not None:
                progress.update(source.size, result.read, result.rejected)
    finally:
        writer.close()
        if progress is not None:
            progress.finish()
    writer.mark_dirty()
    connection.execute(
        update(imports)
        .where(imports.c.id == import_id)
        .values(
            rows_read=result.read,
            rows_stored=result.stored,
            rows_known=result.known,
            rows_rejected=result.rejected,
            customers_touched=len(result.touched),
            finished_at=naive_utc(datetime.now(UTC)),
        )
    )
