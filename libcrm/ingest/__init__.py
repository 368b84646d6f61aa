"""Ingestion: source exports in the landing folder become rows in ``raw`` (or quarantine)."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import psycopg

from libcrm import config, db
from libcrm.ingest.loader import LoadResult, card_index, load_file
from libcrm.ingest.sources import BY_SOURCE, PATRONS

log = logging.getLogger(__name__)


def _refresh_identity(conn: psycopg.Connection, batch_id: int) -> None:
    """Point each patron's user_key at its current card (latest row of the batch wins)."""
    with conn.transaction():
        conn.execute(
            """
            create temporary table batch_keys on commit drop as
            select distinct on (user_key) user_key, patron_id, barcode
            from raw.patrons where batch_id = %s
            order by user_key, source_line desc
            """,
            [batch_id],
        )
        conn.execute(
            "delete from identity.patron_keys k using batch_keys b "
            "where k.barcode = b.barcode and k.user_key <> b.user_key"
        )
        conn.execute(
            """
            insert into identity.patron_keys (user_key, patron_id, barcode)
            select user_key, patron_id, barcode from batch_keys
            on conflict (user_key) do update
            set barcode = excluded.barcode, updated_at = now()
            """
        )


def ingest_source(
    source: str, data_date: date, url: str | None = None, landing: Path | None = None
) -> list[LoadResult]:
    """Load every export of ``source`` dated ``data_date``; return what happened per file."""
    landing = landing or config.landing_dir()
    folder = landing / source / data_date.isoformat()
    secret = config.pseudonym_key()
    results = []
    with db.connect(url) as conn:
        cards = card_index(conn)
        for entity in BY_SOURCE[source]:
            path = folder / entity.file_name
            if not path.exists():
                log.info("%s: no %s export for %s", source, entity.file_name, data_date)
                continue
            name = str(path.relative_to(landing))
            result = load_file(conn, entity, path, name, data_date, secret, cards)
            results.append(result)
            if entity is PATRONS and result.batch_id is not None:
                _refresh_identity(conn, result.batch_id)
                cards = card_index(conn)
            log.info("%s", result)
    return results
