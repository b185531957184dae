"""Open import files and stream their records with source line numbers.

A file may be plain or gzip-compressed (recognised by its first bytes, not its name)
and must be UTF-8; a UTF-8 byte order mark is accepted and removed. Problems with the
file as a whole (missing, empty, not text, wrong encoding, wrong columns) raise
``DataError`` naming the file and, where known, the line, with a hint of what to do.
Problems with one record are the importer's business: it rejects the row.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import logging
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from segmento.engine.errors import DataError, Location

logger = logging.getLogger(__name__)

GZIP_MAGIC: Final = b"\x1f\x8b"
# UTF-32 first: its little-endian mark starts with the UTF-16 one.
_BOMS: Final = {
    codecs.BOM_UTF32_LE: "UTF-32",
    codecs.BOM_UTF32_BE: "UTF-32",
    codecs.BOM_UTF16_LE: "UTF-16",
    codecs.BOM_UTF16_BE: "UTF-16",
}
_CHUNK: Final = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An import file that exists, is not empty, and whose checksum is known."""

    path: Path
    checksum: str
    size: int
    compressed: bool

    @property
    def name(self) -> str:
        return self.path.name


def inspect_file(path: str | Path) -> SourceFile:
    """Check that ``path`` is a readable, non-empty file and return it with its SHA-256."""
    path = Path(path)
    location = Location(source=str(path))
    if not path.exists():
        raise DataError(
            "import file not found",
            location=location,
            value=str(path),
            hint="Check the path under 'sources' in the workspace config, relative to the config file",
            code="file_not_found",
        )
    if not path.is_file():
        raise DataError("import path is not a file", location=location, value=str(path), code="not_a_file")
    digest = hashlib.sha256()
    size = 0
    try:
        with path.open("rb") as handle:
            head = handle.read(4)
            digest.update(head)
            size += len(head)
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as error:
        raise DataError(f"cannot read import file: {error.strerror}", location=location, code="unreadable") from error
    if size == 0:
        raise DataError(
            "import file is empty",
            location=location,
            hint="Export the data again; the file has no header and no rows",
            code="empty_file",
        )
    return SourceFile(path, digest.hexdigest(), size, head.startswith(GZIP_MAGIC))


class TextSource:
    """The decoded text of a ``SourceFile``, read as a stream.

    ``position`` is the number of compressed bytes consumed so far, for a progress bar.
    Decoding and decompression errors are raised as ``DataError`` with the line number.
    """

    def __init__(self, source: SourceFile) -> None:
        self.source = source
        self._raw: IO[bytes] = source.path.open("rb")
        self._binary: IO[bytes] = gzip.GzipFile(fileobj=self._raw, mode="rb") if source.compressed else self._raw
        self.line = 0
        self._check_start()

    @property
    def position(self) -> int:
        return self._raw.tell()

    def close(self) -> None:
        self._binary.close()
        self._raw.close()

    def __enter__(self) -> TextSource:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def lines(self) -> Iterator[str]:
        """Yield the file's lines with their line endings; ``self.line`` is the current line number.

        Each line is decoded on its own, so a byte that is not UTF-8 is reported on
        the line where it is.
        """
        while True:
            try:
                data = self._binary.readline()
            except (OSError, EOFError, zlib.error) as error:
                self.line += 1
                raise self.error(
                    f"the gzip data is damaged or cut short ({error})",
                    hint="Copy or download the file again",
                    code="bad_gzip",
                ) from error
            if not data:
                return
            self.line += 1
            if self.line == 1 and data.startswith(codecs.BOM_UTF8):
                data = data[len(codecs.BOM_UTF8) :]
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError as error:
                raise self._encoding_error(error) from error
            if "\x00" in text:
                raise self.error(
                    "the file contains NUL bytes, so it is not a text file",
                    hint="Export the data as UTF-8 CSV or JSON Lines",
                    code="not_text",
                )
            yield text

    def error(self, message: str, *, hint: str | None = None, code: str, value: object = None) -> DataError:
        """Return a ``DataError`` located at the current line of this file."""
        return DataError(
            message,
            location=Location(source=str(self.source.path), line=max(self.line, 1)),
            value=value,
            hint=hint,
            code=code,
        )

    def _check_start(self) -> None:
        try:
            head = self._binary.peek(4)[:4] if hasattr(self._binary, "peek") else b""
        except (OSError, EOFError, zlib.error) as error:
            raise self.error(f"the gzip data is damaged ({error})", hint="Copy the file again", code="bad_gzip") from error
        for bom, encoding in _BOMS.items():
            if head.startswith(bom):
                raise self.error(
                    f"the file is encoded as {encoding}, not UTF-8",
                    hint=f"Convert it, for example with: iconv -f {encoding} -t UTF-8 FILE > FILE.utf8",
                    code="wrong_encoding",
                )

    def _encoding_error(self, error: UnicodeDecodeError) -> DataError:
        bad = error.object[error.start : error.start + 4]
        return self.error(
            f"the file is not valid UTF-8: byte {bad[:1].hex().upper()} at byte {error.start + 1} of the line cannot start or continue a character",
            value=bad.hex(" "),
            hint="Convert it to UTF-8, for example with: iconv -f WINDOWS-1252 -t UTF-8 FILE > FILE.utf8",
            code="wrong_encoding",
        )


@dataclass(frozen=True, slots=True)
class CsvRecord:
    """One CSV record: its first line number, its fields by header name, and its text."""

    line: int
    fields: dict[str, str]
    raw: str
    problem: str | None = None


def read_csv(source: TextSource, required: Sequence[str], format_name: str) -> Iterator[CsvRecord]:
    """Yield the records of a comma-separated file whose header has every column in ``required``.

    A record with more or fewer fields than the header is yielded with ``problem`` set,
    so the importer can reject it with its line number.
    """
    lines = source.lines()
    header_text = next(lines, None)
    if header_text is None or not header_text.strip():
        raise source.error("the file has no header row", hint=f"The first line must name the columns: {', '.join(required)}", code="no_header")
    header = [name.strip() for name in next(csv.reader([header_text]))]
    missing = [name for name in required if name not in header]
    if missing:
        raise source.error(
            f"this is not a {format_name} file: the header lacks {', '.join(missing)}",
            value=header_text.strip()[:200],
            hint=_header_hint(header_text, required),
            code="wrong_format",
        )
    width = len(header)
    pending: list[str] = []

    def feed() -> Iterator[str]:
        for text in lines:
            pending.append(text)
            yield text

    # csv.reader pulls one line at a time and returns a record as soon as it is
    # complete, so ``pending`` contains exactly the lines of the record just read.
    reader = csv.reader(feed())
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise source.error(
                f"the CSV text is malformed: {error}",
                hint="Check the quoting on this line; a field with a comma or a quote must be quoted",
                code="bad_csv",
            ) from error
        raw = "".join(pending).rstrip("\r\n")
        first_line = source.line - len(pending) + 1
        pending.clear()
        if not values or (len(values) == 1 and not values[0].strip()):
            continue
        if len(values) != width:
            yield CsvRecord(first_line, {}, raw, f"has {len(values)} fields, the header has {width}")
            continue
        yield CsvRecord(first_line, dict(zip(header, values)), raw)


def _header_hint(header_text: str, required: Sequence[str]) -> str:
    if "," not in header_text and (";" in header_text or "\t" in header_text):
        return "The columns must be separated by commas, not semicolons or tabs"
    return f"Expected the columns {', '.join(required)}; check the file's format under 'sources' in the config"
