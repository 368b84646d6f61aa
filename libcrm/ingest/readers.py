"""Read source files into numbered rows, whatever their encoding or shape, without loading
a whole CSV file into memory.

A file is first checked against the entity's columns (schema drift): an unknown column is
noted and ignored, a missing required column stops the file with ``SourceFormatError``.
"""

from __future__ import annotations

import csv
import io
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from libcrm.ingest.fields import Entity
from libcrm.ingest.jsonfile import JsonFile
from libcrm.ingest.layout import (
    DOCUMENTED,
    ENCODINGS,
    Dialect,
    Row,
    SourceFormatError,
    check_columns,
    detect_encoding,
)

__all__ = ["CsvFile", "JsonFile", "PlainBlock", "SourceFormatError", "open_source", "pieces"]

# Characters of whole lines decoded and checked at a time: large enough that the per-block work
# is negligible, small enough that a quoted line sends few others through the CSV parser.
BLOCK_CHARS = 256 * 1024
# No real export has a field this long; an unclosed quote would otherwise swallow the rest of
# the file into one field.
MAX_FIELD_CHARS = 1_000_000
csv.field_size_limit(MAX_FIELD_CHARS)


class _Lines:
    """Physical lines of a binary file, decoded one by one or a block at a time; remembers the
    current record's lines (for quarantine), whether one of them could not be stored, and how
    many lines have been handed out."""

    def __init__(self, handle, encoding: str, clean: bool) -> None:
        self.handle, self.encoding, self.clean = handle, encoding, clean
        # Clean files are decoded in large blocks; nothing needs checking line by line.
        self.text = io.TextIOWrapper(handle, encoding, newline="") if clean else None
        self.queued: deque[str] = deque()  # lines of a block left to the CSV parser
        self.count = 0
        self.pending: list[str] = []
        self.problem: str | None = None

    def __iter__(self) -> Iterator[str]:
        if self.clean:
            queued, readline = self.queued, self.text.readline
            while text := queued.popleft() if queued else readline():
                self.count += 1
                self.pending.append(text)
                yield text
            return
        encoding = self.encoding
        for raw in self.handle:
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError as error:
                text = raw.decode(encoding, "backslashreplace")
                self.problem = (
                    f"holds bytes that are not {encoding.upper()} (0x{raw[error.start]:02x} at "
                    f"byte {error.start + 1} of the line): re-export the file as UTF-8"
                )
            if "\x00" in text:
                text = text.replace("\x00", "\\x00")
                self.problem = "holds a NUL character, which a text column cannot store"
            self.count += 1
            self.pending.append(text)
            yield text

    def block(self) -> str:
        """The next whole lines of a clean file as one text, about ``BLOCK_CHARS`` of them
        ("" at the end)."""
        text = self.text.read(BLOCK_CHARS)
        return text + self.text.readline() if text and not text.endswith("\n") else text


@dataclass(frozen=True)
class PlainBlock:
    """Consecutive plain records of a CSV file, starting at line ``first``.

    ``texts`` are the lines without their ends; ``text`` is all of them, each ended by ``\\n``.
    The CSV parser would read each line exactly as ``line.split(",")``. The block holds as many
    commas as ``width`` fields per line need; whether each line has ``width`` fields is left to
    the judge's line pattern, or checked by ``rows``.
    """

    first: int
    texts: list[str]
    text: str
    width: int

    @property
    def lines(self) -> range:
        return range(self.first, self.first + len(self.texts))

    def rows(self) -> list[Row]:
        """The block as rows, for a closer look row by row; a line with another number of
        fields than ``width`` comes with the problem the CSV parser would name."""
        return [
            (line, None, _width_check(text.count(",") + 1, self.width), text)
            for line, text in zip(self.lines, self.texts, strict=True)
        ]


def _width_check(fields: int, width: int) -> str | None:
    """The CSV parser's problem with a line of ``fields`` fields, or None when it has ``width``."""
    return None if fields == width else _width_problem(fields, width)


def _width_problem(fields: int, width: int) -> str:
    return f"has {fields} fields but the header has {width}: check quoting"


def _plain_texts(block: str, width: int) -> tuple[list[str], str] | None:
    """The block's lines without their ends, and the block with every line ended by ``\\n``,
    when its lines are plain records: no quote, no empty line, no stray carriage return,
    nothing beyond the field limit, as many commas as ``width`` fields per line need. Else
    None."""
    if '"' in block:
        return None
    if "\r" in block:
        block = block.replace("\r\n", "\n")
        if "\r" in block:
            return None
    if not block.endswith("\n"):
        block += "\n"
    if block.startswith("\n") or "\n\n" in block:
        return None
    texts = block.split("\n")
    texts.pop()
    if len(block) > MAX_FIELD_CHARS and max(map(len, texts)) > MAX_FIELD_CHARS:
        return None
    if block.count(",") != (width - 1) * len(texts):
        return None
    return texts, block


# Separators exports are written with, most common first.
DELIMITERS = (",", ";", "\t", "|")


def _check_delimiter(name: str, header: list[str], dialect: Dialect) -> None:
    """Stop a file whose header is one column holding another separator: its delimiter is
    wrong, which is what to say rather than that every required column is missing."""
    if len(header) != 1:
        return
    for delimiter in DELIMITERS:
        if delimiter != dialect.delimiter and delimiter in header[0]:
            if not dialect.mapped_by:
                raise SourceFormatError(
                    name,
                    f"the header is separated by {delimiter!r} but exports must use commas (,); "
                    "nothing was loaded — re-export the file with comma separators and run the "
                    "day again",
                )
            raise SourceFormatError(
                name,
                f"the header is separated by {delimiter!r} but the delimiter of "
                f"{dialect.mapped_by} is {dialect.delimiter!r}; nothing was loaded — correct the "
                "mapping or re-export the file, and run the day again",
            )


class CsvFile:
    """A CSV export with a header row, checked against ``entity``'s columns.

    Attributes
    ----------
    header : list of str
        Column names as found in the file.
    extra, missing : list of str
        Columns the entity does not know (ignored), and optional columns the file lacks.
    """

    def __init__(
        self, path: Path, name: str, entity: Entity, dialect: Dialect = DOCUMENTED
    ) -> None:
        self.name = name
        self._handle = path.open("rb")
        encodings = (dialect.encoding,) if dialect.encoding else ENCODINGS
        self._lines = _Lines(self._handle, *detect_encoding(path, encodings))
        self._reader = csv.reader(self._lines, delimiter=dialect.delimiter)
        # Plain blocks go to COPY as they are, which reads commas between values.
        self._plain = dialect.delimiter == ","
        try:
            first = next(self._reader, [])
        except csv.Error as error:
            self.close()
            raise SourceFormatError(name, f"the header row is not readable CSV ({error})") from None
        found = [column.strip().lstrip("\ufeff") for column in first]
        self.header = dialect.documented(found)
        try:
            _check_delimiter(name, found, dialect)
            self.extra, self.missing = check_columns(name, entity, self.header, dialect)
        except SourceFormatError:
            self.close()
            raise

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def content(self, row: Row) -> str:
        """The original text of ``row`` (one returned by ``rows``)."""
        return row[3]

    @staticmethod
    def values(row: Row) -> list[str] | None:
        """The values of ``row``: a plain record's are split from its text on demand."""
        line, values, problem, text = row
        return text.split(",") if values is None and problem is None else values

    def rows(self) -> Iterator[Row]:
        """Yield ``(line, values, problem, text)`` per record; empty lines are skipped.

        Records of a plain block come with ``values`` None: their values are
        ``text.split(",")`` (see ``values``).
        """
        for piece in self.pieces():
            yield from piece.rows() if isinstance(piece, PlainBlock) else piece

    def pieces(self, size: int = 8192) -> Iterator[PlainBlock | list[Row]]:
        """The file's records as plain blocks and lists of at most ``size`` rows, in order.

        A block of plain lines is checked without a Python step per line. A block holding
        anything else (quotes, empty lines, odd line ends), or a file with undecodable bytes,
        NUL characters or another delimiter than commas, goes through the CSV parser.
        """
        lines, width = self._lines, len(self.header)
        if not lines.clean or not self._plain:
            yield from _batched(self._parsed_rows(until_block_end=False), size)
            return
        while True:
            if lines.queued:
                yield from _batched(self._parsed_rows(until_block_end=True), size)
            block = lines.block()
            if not block:
                return
            plain = _plain_texts(block, width)
            if plain is None:
                lines.queued.extend(io.StringIO(block, newline="").readlines())
                continue
            texts, text = plain
            yield PlainBlock(lines.count + 1, texts, text, width)
            lines.count += len(texts)

    def _parsed_rows(self, until_block_end: bool) -> Iterator[Row]:
        """Records read by the CSV parser: all of them, or those starting in the queued block."""
        reader, lines, width = self._reader, self._lines, len(self.header)
        while not until_block_end or lines.queued:
            lines.pending = []
            lines.problem = None
            line = lines.count + 1
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                problem = f"is not readable CSV ({error}): check its quoting"
                yield line, None, problem, self._pending_text()
                continue
            if not row:
                continue
            if lines.problem:
                yield line, None, lines.problem, self._pending_text()
            elif len(row) != width:
                yield line, None, _width_problem(len(row), width), self._pending_text()
            else:
                yield line, row, None, self._pending_text()

    def _pending_text(self) -> str:
        return "".join(self._lines.pending).rstrip("\r\n")


def _batched(rows: Iterator[Row], size: int) -> Iterator[list[Row]]:
    while chunk := list(islice(rows, size)):
        yield chunk


def pieces(source: CsvFile | JsonFile, size: int) -> Iterator[PlainBlock | list[Row]]:
    """A source's records as plain blocks (CSV only) and lists of at most ``size`` rows."""
    if isinstance(source, CsvFile):
        return source.pieces(size)
    return _batched(source.rows(), size)


def open_source(
    path: Path, name: str, entity: Entity, dialect: Dialect = DOCUMENTED
) -> CsvFile | JsonFile:
    """Open a source file, CSV or JSON as its entity's, checked against ``entity`` and read as
    ``dialect`` says."""
    if entity.file_name.endswith(".json"):
        return JsonFile(path, name, entity, dialect)
    return CsvFile(path, name, entity, dialect)
