"""Parse and prepare an import file in a background thread, batch by batch, while the caller writes.

Writing a batch is mostly waiting: for the database server, or for SQLite's C code,
which releases the GIL. Parsing and preparing the next batch meanwhile hides most of
that work on a machine with more than one core. Only the calling thread runs
statements on the connection, and an interrupt (``KeyboardInterrupt``) or an error
ends the import in the calling thread as it would without the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from segmento.adapters.ingest.items import Item
from segmento.adapters.ingest.readers import SourceFile, TextSource

logger = logging.getLogger(__name__)

BATCHES_AHEAD: Final = 2
"""Parsed batches waiting to be written; bounds the memory the thread can fill."""

_POLL_SECONDS: Final = 0.1

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """A prepared batch of parsed items, and how many bytes of the (compressed) file were read for it."""

    prepared: T
    position: int


@dataclass(frozen=True, slots=True)
class _Failure:
    """An exception raised in the parsing thread, to be raised again in the calling thread."""

    error: BaseException


class BackgroundBatches(Generic[T]):
    """Iterates over ``prepare(batch)`` for the batches of ``size`` items of ``parse(text)``, run in a daemon thread.

    Use it as a context manager: leaving the block stops the thread and closes the
    file, also when the caller stops early. An exception raised by the parser, such as
    a ``DataError`` for a damaged file, or by ``prepare`` is raised by the iterator
    after the batches before it.
    """

    def __init__(
        self,
        source: SourceFile,
        parse: Callable[[TextSource], Iterator[Item]],
        size: int,
        prepare: Callable[[list[Item]], T],
    ) -> None:
        self._source = source
        self._parse = parse
        self._size = size
        self._prepare = prepare
        # ``None`` marks the end of the file.
        self._queue: queue.Queue[Batch[T] | _Failure | None] = queue.Queue(maxsize=BATCHES_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"parse {source.name}", daemon=True)

    def __enter__(self) -> BackgroundBatches[T]:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Batch[T]]:
        while True:
            entry = self._queue.get()
            if entry is None:
                return
            if isinstance(entry, _Failure):
                raise entry.error
            yield entry

    def close(self) -> None:
        """Stop the parsing thread and wait until it has closed the file."""
        self._stop.set()
        while self._thread.is_alive():
            # Taking entries frees a thread that waits to put one.
            try:
                self._queue.get_nowait()
            except queue.Empty:
                pass
            self._thread.join(_POLL_SECONDS)

    def _run(self) -> None:
        try:
            with TextSource(self._source) as text:
                batch: list[Item] = []
                for item in self._parse(text):
                    batch.append(item)
                    if len(batch) >= self._size:
                        if not self._put(Batch(self._prepare(batch), text.position)):
                            return
                        batch = []
                if batch and not self._put(Batch(self._prepare(batch), text.position)):
                    return
        except BaseException as error:  # noqa: BLE001 - the calling thread raises it again
            self._put(_Failure(error))
            return
        self._put(None)

    def _put(self, entry: Batch[T] | _Failure | None) -> bool:
        """Queue ``entry`` unless the caller stopped, and return whether it was queued."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=_POLL_SECONDS)
            except queue.Full:
                continue
            return True
        logger.debug("parsing of %s stopped by the caller", self._source.name)
        return False
