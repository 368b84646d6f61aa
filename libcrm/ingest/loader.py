"""Load one source file into ``raw`` with COPY: every row loaded or quarantined, counts audited.

A file is one batch (one ``raw.load_audit`` row). ``load_file`` runs inside the caller's
transaction, which holds every file of a source's day, so a day is loaded all or nothing.
Loading the same file again is a no-op; a re-delivered file with new content replaces its
earlier batch, so re-running a day gives the same tables.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm.ingest.fields import Entity, RowError
from libcrm.ingest.readers import open_source
from libcrm.pseudonym import user_key

log = logging.getLogger(__name__)

REJECTED_COLUMNS = "source, batch_id, file, line, content, reason"
SPILL_CHUNK = 1024 * 1024  # characters of quarantined rows sent to COPY at a time


@dataclass(frozen=True)
class LoadResult:
    """What happened to one file."""

    file: str
    entity: str
    batch_id: int | None
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    skipped: bool = False
    extra_columns: tuple[str, ...] = field(default=())


def checksum(path: Path) -> str:
    """SHA-256 of a file, read in blocks."""
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def card_index(conn: psycopg.Connection) -> dict[str, str]:
    """Return card barcode → user_key for every patron the ILS has told us about."""
    return dict(conn.execute("select barcode, user_key from identity.patron_keys").fetchall())


def _forget_batches(conn: psycopg.Connection, entity: Entity, batch_ids: list[int]) -> None:
    table = sql.Identifier("raw", entity.table)
    conn.execute(sql.SQL("delete from {} where batch_id = any(%s)").format(table), [batch_ids])
    conn.execute("delete from quarantine.rejected_rows where batch_id = any(%s)", [batch_ids])
    conn.execute(
        "update raw.load_audit set status = 'replaced' where batch_id = any(%s)", [batch_ids]
    )


class _Keys:
    """The ``user_key`` of a row: a keyed pseudonym of its patron id, or its card's key."""

    def __init__(self, entity: Entity, secret: bytes, cards: dict[str, str]) -> None:
        self.entity, self.secret, self.cards = entity, secret, cards
        self.index = entity.names.index(entity.key) if entity.key else -1
        self.known: dict[str, str] = {}

    def of(self, values: list[str | None]) -> str:
        raw = values[self.index]
        if self.entity.key_is_card:
            found = self.cards.get(raw)
            if found is None:
                raise RowError(
                    f"{self.entity.key} '{raw}' is not a card the ILS knows: load its patron "
                    "first, then run this day again"
                )
            return found
        found = self.known.get(raw)
        if found is None:
            found = self.known[raw] = user_key(self.secret, raw)
        return found


def _copy_escape(value: str) -> str:
    return (
        value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    )


def load_file(
    conn: psycopg.Connection,
    entity: Entity,
    path: Path,
    name: str,
    data_date: date,
    secret: bytes,
    cards: dict[str, str],
) -> LoadResult:
    """Load ``path`` (known as ``name`` in the audit) as one batch in the open transaction.

    Raises
    ------
    SourceFormatError
        When the file cannot be read as ``entity`` at all (e.g. a required column is missing);
        the caller rolls the day back.
    """
    digest = checksum(path)
    earlier = conn.execute(
        "select batch_id, checksum from raw.load_audit where file = %s and status = 'loaded'",
        [name],
    ).fetchall()
    if any(seen == digest for _, seen in earlier):
        return LoadResult(name, entity.table, None, 0, 0, 0, skipped=True)
    with open_source(path, name, entity) as source:
        if earlier:
            log.warning("%s changed since it was loaded: replacing its earlier batch", name)
            _forget_batches(conn, entity, [batch for batch, _ in earlier])
        if source.extra:
            log.warning("%s: unknown column(s) %s ignored", name, ", ".join(source.extra))
        batch_id = conn.execute(
            "insert into raw.load_audit (source, entity, file, checksum, data_date, "
            "extra_columns, missing_columns, started_at) "
            "values (%s, %s, %s, %s, %s, %s, %s, clock_timestamp()) returning batch_id",
            [entity.source, entity.table, name, digest, data_date, source.extra, source.missing],
        ).fetchone()[0]
        keys = _Keys(entity, secret, cards)
        read, rejected = _copy_rows(conn, entity, source, name, batch_id, keys)
    conn.execute(
        "update raw.load_audit set rows_read = %s, rows_loaded = %s, rows_quarantined = %s, "
        "status = 'loaded', finished_at = clock_timestamp() where batch_id = %s",
        [read, read - rejected, rejected, batch_id],
    )
    if rejected:
        log.warning(
            "%s: %d of %d rows quarantined (see quarantine.rejected_rows, batch %d)",
            name,
            rejected,
            read,
            batch_id,
        )
    return LoadResult(
        name, entity.table, batch_id, read, read - rejected, rejected, False, tuple(source.extra)
    )


def _copy_rows(conn, entity: Entity, source, name: str, batch_id: int, keys: _Keys):
    """COPY the good rows into raw, spill the bad ones to a temporary file, then COPY those
    into quarantine; return (rows read, rows quarantined)."""
    columns = ["batch_id", "source_line"] + (["user_key"] if entity.key else []) + entity.targets
    copy_rows = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier("raw", entity.table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    parse = entity.row_parser(source.header)
    unique = [(entity.names.index(column), column, {}) for column in entity.unique]
    keyed = entity.key is not None
    prefix = f"{_copy_escape(entity.source)}\t{batch_id}\t{_copy_escape(name)}\t"
    read = rejected = 0
    with tempfile.TemporaryFile("w+", encoding="utf-8") as spill:
        with conn.cursor().copy(copy_rows) as copy:
            write = copy.write_row
            for line, row, problem in source.rows():
                read += 1
                try:
                    if problem:
                        raise RowError(problem)
                    values = parse(row)
                    for index, column, seen in unique:
                        first = seen.get(values[index])
                        if first is not None:
                            raise RowError(
                                f"duplicate {column} '{values[index]}': already on line {first} "
                                "of this file, which was loaded — a file holds each record once; "
                                "fix the export and re-deliver it if this row is the right one"
                            )
                    user = keys.of(values) if keyed else None
                except RowError as error:
                    rejected += 1
                    reason = _copy_escape(str(error))
                    spill.write(f"{prefix}{line}\t{_copy_escape(source.content())}\t{reason}\n")
                    log.info("%s line %d: %s — row quarantined", name, line, error)
                    continue
                for index, _, seen in unique:
                    seen[values[index]] = line
                if keyed:
                    write((batch_id, line, user, *values))
                else:
                    write((batch_id, line, *values))
        if rejected:
            spill.seek(0)
            with conn.cursor().copy(
                f"copy quarantine.rejected_rows ({REJECTED_COLUMNS}) from stdin"
            ) as copy:
                while chunk := spill.read(SPILL_CHUNK):
                    copy.write(chunk)
    return read, rejected
