"""Ingestion: source exports in the landing folder become rows in ``raw`` (or quarantine).

Every file of a source's day is loaded in one transaction: a crash, a killed process or a file
that cannot be read as its entity leaves none of that day's batches behind.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm import config, db, pseudonym
from libcrm.identity import card_index
from libcrm.ingest import mapping_file
from libcrm.ingest.landing import Loads, day_folder, export_of, no_export, report_misnamed
from libcrm.ingest.layout import unreadable
from libcrm.ingest.loader import LoadResult, checksum, load_file
from libcrm.ingest.readers import SourceFormatError
from libcrm.ingest.sources import BY_SOURCE, PATRONS

__all__ = [
    "LoadResult",
    "Loads",
    "SourceFormatError",
    "ingest_source",
    "vocabulary_additions",
]

log = logging.getLogger(__name__)


def _refresh_identity(conn: psycopg.Connection, batch_id: int, data_date: date) -> None:
    """Point each patron's user_key at its current card (latest row of the batch wins), and
    keep the card map: from this batch on, a replaced card maps to no one and a card that
    changed hands to its new holder; files of the export's day or earlier still find a
    replaced card's holder (``libcrm.identity``)."""
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
        conn.execute(
            """
            update identity.cards c set
                to_batch = %(batch)s,
                to_day = case when exists (
                    select from batch_keys b
                    where b.barcode = c.barcode and b.user_key <> c.user_key
                ) then %(day)s::date - 1 else %(day)s::date end
            where c.to_batch is null and exists (
                select from batch_keys b
                where (c.barcode = b.barcode and c.user_key <> b.user_key)
                or (c.user_key = b.user_key and c.barcode <> b.barcode)
            )
            """,
            {"batch": batch_id, "day": data_date},
        )
        conn.execute(
            """
            insert into identity.cards (barcode, user_key, from_batch, from_day)
            select b.barcode, b.user_key, %(batch)s, (
                select greatest(%(day)s::date, max(c.to_day) + 1)
                from identity.cards c where c.barcode = b.barcode having count(*) > 0
            )
            from batch_keys b
            on conflict (barcode) where to_batch is null do nothing
            """,
            {"batch": batch_id, "day": data_date},
        )
        conn.execute("drop table batch_keys")


def _checksum_if_readable(path: Path) -> str:
    try:
        return checksum(path)
    except OSError:
        return ""


def _record_failure(
    url: str | None, source: str, entity: str, name: str, path: Path, data_date: date, error: str
) -> None:
    """Leave a 'failed' audit row (nothing loaded) so operators see why the day stopped."""
    with db.connect(url) as conn:
        conn.execute(
            "insert into raw.load_audit (source, entity, file, checksum, data_date, status, "
            "error, started_at, finished_at) "
            "values (%s, %s, %s, %s, %s, 'failed', %s, clock_timestamp(), clock_timestamp())",
            [source, entity, name, _checksum_if_readable(path), data_date, error],
        )


def ingest_source(
    source: str, data_date: date, url: str | None = None, landing: Path | None = None
) -> list[LoadResult]:
    """Load every export of ``source`` dated ``data_date`` in one transaction.

    Parameters
    ----------
    source : str
        ``ils``, ``gate`` or ``events``.
    data_date : datetime.date
        The day whose folder ``<landing>/<source>/<YYYY-MM-DD>/`` is loaded.
    url : str, optional
        Warehouse URL (default ``LIBCRM_DATABASE_URL``).
    landing : pathlib.Path, optional
        Landing folder (default ``LIBCRM_LANDING_DIR``).

    Returns
    -------
    Loads
        A list of LoadResult, one per file found, in load order (files loaded before are
        reported as skipped), with the day's ``warnings`` (no export, misnamed files) and
        ``misnamed`` files.

    Raises
    ------
    libcrm.config.ConfigError
        When the landing folder is missing or holds no source folder (not mounted).
    SourceFormatError
        When a file cannot be read as its entity (e.g. a required column is missing) or at all
        (a folder, a disk error, JSON nested too deeply): nothing of the source's day is
        loaded, and a 'failed' audit row names the file and reason. Also when the source
        has no export for the day and ``LIBCRM_REQUIRED_SOURCES`` names it.
    """
    landing = landing or config.landing_dir()
    folder = day_folder(landing, source, data_date)
    mapping = mapping_file.configured()
    secret = config.pseudonym_key()
    results = Loads()
    report_misnamed(folder, landing, source, results, mapping)
    exports = []
    for entity in BY_SOURCE[source]:
        try:
            exports.append((entity, export_of(folder, entity, mapping)))
        except SourceFormatError as error:  # two files match the mapping's name pattern
            where = landing / error.file
            _record_failure(url, source, entity.table, error.file, where, data_date, str(error))
            raise
    if not any(path for _, path in exports):
        no_export(folder, source, data_date, results, mapping)
        return results
    with db.connect(url) as conn:
        current = None
        try:
            with conn.transaction():
                pseudonym.verify_key(conn, secret)
                # One loader per source at a time: an overlapping retry waits instead of racing.
                conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [f"ingest:{source}"])
                cards = card_index(conn, data_date)
                for entity, path in exports:
                    if path is None:
                        log.info("%s: no %s export for %s", source, entity.file_name, data_date)
                        continue
                    name = path.relative_to(landing).as_posix()
                    current = (entity.table, name, path)
                    mapped, dialect = mapping.entity(entity), mapping.dialect(entity)
                    try:
                        result = load_file(
                            conn, mapped, path, name, data_date, secret, cards, dialect
                        )
                    except (OSError, RecursionError) as error:
                        raise SourceFormatError(name, unreadable(error)) from error
                    results.append(result)
                    if entity is PATRONS and result.batch_id is not None:
                        _refresh_identity(conn, result.batch_id, data_date)
                        cards = card_index(conn, data_date)
                    log.info("%s", result)
        except SourceFormatError as error:
            table, name, path = current
            _record_failure(url, source, table, name, path, data_date, str(error))
            raise
        _analyze(conn, exports, results)
    return results


# A load that changes at least this share of a table's rows gets its statistics at once,
# autovacuum's own threshold for an analyse (autovacuum_analyze_scale_factor), applied
# without its delay; a small day in a large table is left to autovacuum, as the analyse of
# 19 M gate passages would cost more than the day's load.
ANALYZE_SHARE = 0.1


def _analyze(conn: psycopg.Connection, exports, results: Loads) -> None:
    """Fresh planner statistics for the tables the day's load changed much, before the
    validations and models read them. Autovacuum analyses a table only some time after a
    commit (or while a first load is still uncommitted, seeing it empty): a join planned on
    such an estimate (GX's referential checks of 2 M loans, seen on the large library) ran for
    many minutes instead of seconds."""
    loaded: dict[str, int] = {}
    for result in results:
        if result.rows_loaded and not result.skipped:
            loaded[result.entity] = loaded.get(result.entity, 0) + result.rows_loaded
    tables = {
        ("raw", entity.table): loaded[entity.table]
        for entity, _ in exports
        if entity.table in loaded
    }
    if any(entity is PATRONS for entity, _ in exports if entity.table in loaded):
        patrons = loaded[PATRONS.table]
        tables |= {("identity", "patron_keys"): patrons, ("identity", "cards"): patrons}
    for table, rows in tables.items():
        estimated = conn.execute(
            "select reltuples from pg_class where oid = %s::regclass", [".".join(table)]
        ).fetchone()[0]
        if estimated < 0 or rows >= ANALYZE_SHARE * estimated:
            conn.execute(sql.SQL("analyze {}").format(sql.Identifier(*table)))
    conn.commit()


def vocabulary_additions() -> dict[str, list[str]]:
    """The codes the library's mapping (``LIBCRM_EXPORT_MAPPING``) adds to each open vocabulary,
    by kind of ``crm_vocabulary``: what dbt's ``in_vocabulary`` tests accept beside the seed."""
    return mapping_file.configured().additions()
