"""Read source files into numbered rows, whatever their encoding or shape, without loading
a whole CSV file into memory.

A file is first checked against the entity's columns (schema drift): an unknown column is
noted and ignored, a missing required column stops the file with ``SourceFormatError``.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path

from libcrm.ingest.fields import Entity

# Tried in order on the whole file: UTF-8 (a byte-order mark is dropped), then GBK's
# superset, which Chinese gate and ILS systems commonly export. A file that is neither is read
# as UTF-8 and the rows holding the bad bytes are quarantined.
ENCODINGS = ("utf-8", "gb18030")
SCAN_BYTES = 16 * 1024 * 1024  # read this much at a time when checking a file's encoding
# No real export has a field this long; an unclosed quote would otherwise swallow the rest of
# the file into one field.
MAX_FIELD_CHARS = 1_000_000
csv.field_size_limit(MAX_FIELD_CHARS)

Row = tuple[int, list[str] | None, str | None]  # line, values (None when unreadable), problem


class SourceFormatError(ValueError):
    """A whole file cannot be loaded as its entity; the message names the file and the fix."""

    def __init__(self, file: str, reason: str) -> None:
        super().__init__(f"{file}: {reason}")
        self.file = file


def detect_encoding(path: Path) -> tuple[str, bool]:
    """Return the first encoding of ``ENCODINGS`` the whole file decodes with (else UTF-8),
    and whether the file is clean: decodable and free of NUL characters."""
    for encoding in ENCODINGS:
        decoder = codecs.getincrementaldecoder(encoding)()
        has_nul = False
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(SCAN_BYTES):
                    decoder.decode(chunk)
                    has_nul = has_nul or b"\x00" in chunk
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding, not has_nul
    return ENCODINGS[0], False


class _Lines:
    """Physical lines of a binary file, decoded one by one; remembers the current record's
    lines (for quarantine) and whether one of them could not be stored."""

    def __init__(self, handle, encoding: str, clean: bool) -> None:
        self.handle, self.encoding, self.clean = handle, encoding, clean
        self.pending: list[str] = []
        self.problem: str | None = None

    def __iter__(self) -> Iterator[str]:
        if self.clean:  # decode in large blocks; nothing to check line by line
            for text in io.TextIOWrapper(self.handle, self.encoding, newline=""):
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
            self.pending.append(text)
            yield text


class CsvFile:
    """A CSV export with a header row, checked against ``entity``'s columns.

    Attributes
    ----------
    header : list of str
        Column names as found in the file.
    extra, missing : list of str
        Columns the entity does not know (ignored), and optional columns the file lacks.
    """

    def __init__(self, path: Path, name: str, entity: Entity) -> None:
        self.name = name
        self._handle = path.open("rb")
        self._lines = _Lines(self._handle, *detect_encoding(path))
        self._reader = csv.reader(self._lines)
        try:
            first = next(self._reader, [])
        except csv.Error as error:
            self.close()
            raise SourceFormatError(name, f"the header row is not readable CSV ({error})") from None
        self.header = [column.strip().lstrip("\ufeff") for column in first]
        try:
            self.extra, self.missing = check_columns(name, entity, self.header)
        except SourceFormatError:
            self.close()
            raise

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> CsvFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def content(self) -> str:
        """The original text of the row last returned by ``rows``."""
        return "".join(self._lines.pending).rstrip("\r\n")

    def rows(self) -> Iterator[Row]:
        """Yield ``(line, values, problem)`` per record; empty lines are skipped."""
        reader, lines, width = self._reader, self._lines, len(self.header)
        while True:
            lines.pending = []
            lines.problem = None
            try:
                row = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                line = reader.line_num - len(lines.pending) + 1
                yield line, None, f"is not readable CSV ({error}): check its quoting"
                continue
            if not row:
                continue
            line = reader.line_num - len(lines.pending) + 1
            if lines.problem:
                yield line, None, lines.problem
            elif len(row) != width:
                yield line, None, f"has {len(row)} fields but the header has {width}: check quoting"
            else:
                yield line, row, None


def check_columns(name: str, entity: Entity, header: list[str]) -> tuple[list[str], list[str]]:
    """Return (unknown columns, missing optional columns); raise on a missing required one."""
    doubled = sorted({column for column in header if header.count(column) > 1})
    if doubled:
        raise SourceFormatError(
            name,
            f"column(s) {', '.join(doubled)} appear more than once in the header; "
            "nothing was loaded — fix the export and run the day again",
        )
    known = set(entity.names)
    absent = [column for column in entity.names if column not in header]
    lacking = [column for column in entity.required if column in absent]
    if lacking:
        raise SourceFormatError(
            name,
            f"required column(s) {', '.join(lacking)} missing from the "
            f"{'header' if name.endswith('.csv') else 'records'}; nothing was loaded — fix the "
            "export (see docs/sources.md) and run the day again",
        )
    extra = [column for column in header if column not in known]
    return extra, [column for column in absent if column not in lacking]


def _flatten(record: dict, prefix: str = "") -> dict[str, object]:
    flat: dict[str, object] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


class JsonFile:
    """A JSON export ``{"<array>": [objects]}`` (the file's stem names the array).

    Objects are flattened (``category.name``); ``header`` is every key seen, in entity order
    first. ``line`` of a row is the object's position in the array (1-based).
    """

    def __init__(self, path: Path, name: str, entity: Entity) -> None:
        self.name = name
        data = path.read_bytes()
        encoding, _ = detect_encoding(path)
        try:
            document = json.loads(data.decode(encoding, "surrogateescape").lstrip("\ufeff"))
        except json.JSONDecodeError as error:
            raise SourceFormatError(
                name,
                f"not valid JSON ({error.msg} at line {error.lineno}); nothing was "
                "loaded — re-deliver the complete file and run the day again",
            ) from None
        records = document.get(path.stem) if isinstance(document, dict) else None
        if not isinstance(records, list):
            raise SourceFormatError(
                name,
                f"no '{path.stem}' array at the top level; nothing was loaded — "
                "see docs/sources.md for the expected shape",
            )
        self._records = records
        self._flat = [_flatten(r) if isinstance(r, dict) else None for r in records]
        seen = dict.fromkeys(key for flat in self._flat if flat for key in flat)
        self.header = [c for c in entity.names if c in seen] + [
            k for k in seen if k not in entity.names
        ]
        if records:
            self.extra, self.missing = check_columns(name, entity, self.header)
        else:
            self.extra, self.missing = [], []
        self._current = 0

    def __enter__(self) -> JsonFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._records = []

    def content(self) -> str:
        record = self._records[self._current - 1]
        text = json.dumps(record, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(record)
        return text

    def rows(self) -> Iterator[Row]:
        header = self.header
        for position, flat in enumerate(self._flat, start=1):
            self._current = position
            if flat is None:
                yield position, None, "is not a JSON object"
                continue
            values = [_as_text(flat.get(column)) for column in header]
            problem = None
            for value in values:
                if "\x00" in value:
                    problem = "holds a NUL character, which a text column cannot store"
                elif not value.isascii():
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError:
                        problem = "holds bytes that are not UTF-8: re-export the file as UTF-8"
            yield position, None if problem else values, problem


def open_source(path: Path, name: str, entity: Entity) -> CsvFile | JsonFile:
    """Open a source file, CSV or JSON by its suffix, checked against ``entity``."""
    if path.suffix == ".json":
        return JsonFile(path, name, entity)
    return CsvFile(path, name, entity)
