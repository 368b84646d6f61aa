"""Read source files into numbered records, whatever their encoding or shape."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Tried in order: UTF-8 (a byte-order mark is dropped), then GBK's superset, which Chinese
# gate and ILS systems commonly export.
ENCODINGS = ("utf-8-sig", "gb18030")


@dataclass(frozen=True)
class Record:
    """One input row: its line (CSV) or position (JSON), its fields, its original text, and,
    when it cannot be read at all, why."""

    line: int
    fields: dict[str, str | None]
    content: str
    problem: str | None = None


def decode(data: bytes, path: Path) -> str:
    """Decode a file's bytes with the first encoding that fits."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise UnicodeError(f"{path}: not UTF-8 or GBK text; re-export it as UTF-8")


def read_csv(text: str, expected: list[str]) -> Iterator[Record]:
    """Yield the records of a CSV text with a header row; rows that do not fit are flagged."""
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return
    header = [name.strip() for name in header]
    missing = [name for name in expected if name not in header]
    for row in reader:
        content = ",".join(row)
        if not any(value.strip() for value in row):
            continue
        if missing:
            problem = f"header lacks column(s) {', '.join(missing)}: fix the export's header"
            yield Record(reader.line_num, {}, content, problem)
        elif len(row) != len(header):
            problem = f"has {len(row)} fields but the header has {len(header)}: check quoting"
            yield Record(reader.line_num, {}, content, problem)
        else:
            yield Record(reader.line_num, dict(zip(header, row, strict=True)), content)


def _flatten(record: dict, prefix: str = "") -> dict[str, str | None]:
    flat: dict[str, str | None] = {}
    for name, value in record.items():
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = None if value is None else str(value)
    return flat


def read_json(text: str, array_key: str) -> Iterator[Record]:
    """Yield the objects of ``{array_key: [...]}``; ``line`` is the object's position (1-based)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        yield Record(error.lineno, {}, text[:2000], f"is not valid JSON ({error.msg})")
        return
    records = document.get(array_key) if isinstance(document, dict) else None
    if not isinstance(records, list):
        yield Record(1, {}, text[:2000], f"has no '{array_key}' array at the top level")
        return
    for position, record in enumerate(records, start=1):
        content = json.dumps(record, ensure_ascii=False)
        if not isinstance(record, dict):
            yield Record(position, {}, content, "is not a JSON object")
        else:
            yield Record(position, _flatten(record), content)


def read_records(path: Path, expected: list[str]) -> Iterator[Record]:
    """Yield the records of a source file, CSV or JSON by its suffix."""
    text = decode(path.read_bytes(), path)
    if path.suffix == ".json":
        yield from read_json(text, path.stem)
    else:
        yield from read_csv(text, expected)
