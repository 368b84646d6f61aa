"""Load one source file into ``raw`` with COPY: every row loaded or quarantined, counts audited.

A file is one batch. Loading the same file again is a no-op; a re-delivered file with new
content replaces its earlier batch, so re-running a day gives the same tables.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm.ingest.fields import Entity, RowError
from libcrm.ingest.readers import read_records
from libcrm.pseudonym import user_key

log = logging.getLogger(__name__)


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


def _checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _forget_batches(conn: psycopg.Connection, entity: Entity, batch_ids: list[int]) -> None:
    table = sql.Identifier("raw", entity.table)
    conn.execute(sql.SQL("delete from {} where batch_id = any(%s)").format(table), [batch_ids])
    conn.execute("delete from quarantine.rejected_rows where batch_id = any(%s)", [batch_ids])
    conn.execute(
        "update raw.load_audit set status = 'replaced' where batch_id = any(%s)", [batch_ids]
    )


def card_index(conn: psycopg.Connection) -> dict[str, str]:
    """Return card barcode → user_key for every patron the ILS has told us about."""
    return dict(conn.execute("select barcode, user_key from identity.patron_keys").fetchall())


def _key_of(entity: Entity, values: list[object], secret: bytes, cards: dict[str, str]) -> str:
    raw_key = str(values[entity.names.index(entity.key)])
    if not entity.key_is_card:
        return user_key(secret, raw_key)
    if raw_key not in cards:
        raise RowError(
            f"{entity.key} '{raw_key}' is not a card the ILS knows: load its patron first"
        )
    return cards[raw_key]


def load_file(
    conn: psycopg.Connection,
    entity: Entity,
    path: Path,
    name: str,
    data_date: date,
    secret: bytes,
    cards: dict[str, str],
) -> LoadResult:
    """Load ``path`` (known as ``name`` in the audit) as one batch, in one transaction."""
    checksum = _checksum(path)
    with conn.transaction():
        earlier = conn.execute(
            "select batch_id, checksum from raw.load_audit where file = %s and status = 'loaded'",
            [name],
        ).fetchall()
        if any(seen == checksum for _, seen in earlier):
            return LoadResult(name, entity.table, None, 0, 0, 0, skipped=True)
        if earlier:
            log.warning("%s changed since it was loaded: replacing its earlier batch", name)
            _forget_batches(conn, entity, [batch for batch, _ in earlier])
        batch_id = conn.execute(
            "insert into raw.load_audit (source, entity, file, checksum, data_date) "
            "values (%s, %s, %s, %s, %s) returning batch_id",
            [entity.source, entity.table, name, checksum, data_date],
        ).fetchone()[0]
        read, rejected = _copy_rows(conn, entity, path, name, batch_id, secret, cards)
        conn.execute(
            "update raw.load_audit set rows_read = %s, rows_loaded = %s, rows_quarantined = %s, "
            "status = 'loaded' where batch_id = %s",
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
    return LoadResult(name, entity.table, batch_id, read, read - rejected, rejected)


def _copy_rows(
    conn: psycopg.Connection,
    entity: Entity,
    path: Path,
    name: str,
    batch_id: int,
    secret: bytes,
    cards: dict[str, str],
) -> tuple[int, int]:
    columns = ["batch_id", "source_line"] + (["user_key"] if entity.key else []) + entity.targets
    copy_rows = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier("raw", entity.table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    rejects = []
    read = 0
    with conn.cursor().copy(copy_rows) as copy:
        for record in read_records(path, entity.names):
            read += 1
            try:
                if record.problem:
                    raise RowError(record.problem)
                values = entity.parse(record.fields)
                keys = [_key_of(entity, values, secret, cards)] if entity.key else []
            except RowError as error:
                rejects.append(
                    (entity.source, batch_id, name, record.line, record.content, str(error))
                )
                log.info("%s line %d: %s — row quarantined", name, record.line, error)
                continue
            copy.write_row([batch_id, record.line, *keys, *values])
    with conn.cursor().copy(
        "copy quarantine.rejected_rows (source, batch_id, file, line, content, reason) from stdin"
    ) as copy:
        for reject in rejects:
            copy.write_row(reject)
    return read, len(rejects)
