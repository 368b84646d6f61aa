"""Writing export files: UTF-8 CSV with a header and JSON arrays, replaced atomically.

A file is written under a temporary name next to its destination and renamed into place, so a
reader never sees half a file and a re-run overwrites instead of appending.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import pandas as pd


@contextmanager
def replacing(path: Path) -> Iterator[TextIO]:
    """Open a temporary file that replaces ``path`` when the block ends without error."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as handle:
            yield handle
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_csv(path: Path, columns: list[str], chunks: Iterable[pd.DataFrame]) -> int:
    """Write a CSV file with a header row from frames holding ``columns``.

    Parameters
    ----------
    path : pathlib.Path
        Destination.
    columns : list of str
        Header, in order.
    chunks : iterable of pandas.DataFrame
        Row blocks, written in order (lets tens of millions of rows stream through).

    Returns
    -------
    int
        Number of data rows written.
    """
    rows = 0
    with replacing(path) as handle:
        handle.write(",".join(columns) + "\n")
        for chunk in chunks:
            chunk[columns].to_csv(handle, header=False, index=False, lineterminator="\n")
            rows += len(chunk)
    return rows


def write_json_array(path: Path, key: str, records: Iterable[dict]) -> int:
    """Write ``{key: [records]}`` with one record per line; returns the number of records."""
    count = 0
    with replacing(path) as handle:
        handle.write(f'{{"{key}": [')
        for record in records:
            handle.write(",\n " if count else "\n ")
            handle.write(json.dumps(record, ensure_ascii=False))
            count += 1
        handle.write("\n]}\n" if count else "]}\n")
    return count
