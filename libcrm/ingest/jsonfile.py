"""Read a JSON export (``{"<array>": [objects]}``) into numbered rows of text values."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from libcrm.ingest.fields import Entity
from libcrm.ingest.layout import (
    DOCUMENTED,
    ENCODINGS,
    Dialect,
    Row,
    SourceFormatError,
    check_columns,
    detect_encoding,
)


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
    """A JSON export ``{"<array>": [objects]}`` (the stem of the entity's file name names the
    array).

    Objects are flattened (``category.name``), their keys mapped to documented names by the
    dialect; ``header`` is every key seen, in entity order first. ``line`` of a row is the
    object's position in the array (1-based).
    """

    def __init__(
        self, path: Path, name: str, entity: Entity, dialect: Dialect = DOCUMENTED
    ) -> None:
        self.name = name
        data = path.read_bytes()
        encodings = (dialect.encoding,) if dialect.encoding else ENCODINGS
        encoding, self._clean = detect_encoding(path, encodings)
        array = Path(entity.file_name).stem
        try:
            document = json.loads(data.decode(encoding, "surrogateescape").lstrip("\ufeff"))
        except json.JSONDecodeError as error:
            raise SourceFormatError(
                name,
                f"not valid JSON ({error.msg} at line {error.lineno}); nothing was "
                "loaded — re-deliver the complete file and run the day again",
            ) from None
        records = document.get(array) if isinstance(document, dict) else None
        if not isinstance(records, list):
            raise SourceFormatError(
                name,
                f"no '{array}' array at the top level; nothing was loaded — "
                "see docs/sources.md for the expected shape",
            )
        self._records = records
        renamed = dialect.header.get
        self._flat = [
            {renamed(key, key): value for key, value in _flatten(r).items()}
            if isinstance(r, dict)
            else None
            for r in records
        ]
        seen = dict.fromkeys(key for flat in self._flat if flat for key in flat)
        self.header = [c for c in entity.names if c in seen] + [
            k for k in seen if k not in entity.names
        ]
        if records:
            self.extra, self.missing = check_columns(name, entity, self.header, dialect)
        else:
            self.extra, self.missing = [], []

    def __enter__(self) -> JsonFile:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._records = []

    def content(self, row: Row) -> str:
        """The record of ``row`` (one returned by ``rows``) as JSON text."""
        record = self._records[row[0] - 1]
        text = json.dumps(record, ensure_ascii=False)
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return json.dumps(record)
        return text

    @staticmethod
    def values(row: Row) -> list[str] | None:
        """The values of ``row`` (None when it cannot be read)."""
        return row[1]

    def rows(self) -> Iterator[Row]:
        header = self.header
        for position, flat in enumerate(self._flat, start=1):
            if flat is None:
                yield position, None, "is not a JSON object", None
                continue
            values = [_as_text(flat.get(column)) for column in header]
            problem = None
            for column, value in zip(header, values, strict=True):
                if "\x00" in value:
                    problem = "holds a NUL character, which a text column cannot store"
                elif not value.isascii():
                    try:
                        value.encode("utf-8")
                    except UnicodeEncodeError as error:
                        problem = self._not_text(column, value[error.start])
            yield position, None if problem else values, problem, None

    def _not_text(self, column: str, surrogate: str) -> str:
        """Why a value holding a lone surrogate cannot be stored: a byte the file's encoding
        does not have (kept by the decoder as U+DC80-U+DCFF), or a ``\\uXXXX`` escape."""
        if not self._clean and 0xDC80 <= ord(surrogate) <= 0xDCFF:
            return "holds bytes that are not UTF-8: re-export the file as UTF-8"
        return (
            f"{column} holds the JSON escape \\u{ord(surrogate):04x}, half of a surrogate pair "
            "that stands for no character on its own: fix the export to write the whole "
            "character (or both halves of its pair)"
        )
