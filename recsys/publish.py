"""Atomic publication of the portal's nightly tables and the history of what was shown."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

log = logging.getLogger(__name__)

# Key of the transaction-level advisory lock that one publication holds at a time
# (an arbitrary constant: the ASCII of "LCRMPUB").
PUBLICATION_LOCK = 0x4C43524D505542
LOG_TABLE = ("recsys", "recommendation_log")
LOG_COLUMNS = (
    "kind",
    "user_key",
    "rank",
    "target_id",
    "score",
    "generated_for",
    "model_version",
    "reason_code",
    "reason_params",
)
# History kept for the uptake mart: far longer than its window, short enough to stay small.
LOG_RETENTION_DAYS = 180


@dataclass(frozen=True)
class Replacement:
    """The new full content of one table."""

    table: tuple[str, str]
    columns: Sequence[str]
    rows: Iterable[Sequence]


@dataclass(frozen=True)
class Publication:
    """What a publication did: the rows written per replacement, or why nothing was."""

    rows_written: list[int]
    published: bool = True
    # The night the portal served before this publication (None: nothing dated yet).
    served_before: date | None = None
    reason: str = ""
    # When the night's row of portal.publication says it was published (ISO 8601).
    published_at: str | None = None


@dataclass(frozen=True)
class Night:
    """The published night's record (``portal.publication``): its day and model versions."""

    generated_for: date
    model_version: str
    activity_model_version: str | None = None


def _copy(conn: psycopg.Connection, table: tuple[str, str], columns, rows) -> int:
    copy = sql.SQL("copy {} ({}) from stdin").format(
        sql.Identifier(*table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    written = 0
    with conn.cursor().copy(copy) as writer:
        for row in rows:
            writer.write_row(row)
            written += 1
    return written


def _lock(conn: psycopg.Connection) -> None:
    """Wait for any other publication to commit, saying so when one is running."""
    taken = conn.execute("select pg_try_advisory_xact_lock(%s)", [PUBLICATION_LOCK]).fetchone()[0]
    if not taken:
        log.info("another publication of the portal is running: waiting for it to commit")
        conn.execute("select pg_advisory_xact_lock(%s)", [PUBLICATION_LOCK])


def _served_night(conn: psycopg.Connection, replacements: Sequence[Replacement]) -> date | None:
    """The newest ``generated_for`` in the tables about to be replaced."""
    nights = [
        conn.execute(
            sql.SQL("select max(generated_for) from {}").format(sql.Identifier(*r.table))
        ).fetchone()[0]
        for r in replacements
    ]
    return max((night for night in nights if night is not None), default=None)


def _record(conn: psycopg.Connection, night: Night, replacements, written) -> str:
    """The night's row of ``portal.publication``, last in the transaction: the portal sees it
    exactly when it sees the tables it describes."""
    counts = {".".join(r.table): rows for r, rows in zip(replacements, written, strict=True)}
    return (
        conn.execute(
            "insert into portal.publication (generated_for, published_at, model_version,"
            " activity_model_version, row_counts) values (%s, clock_timestamp(), %s, %s, %s)"
            " on conflict (generated_for) do update set published_at = excluded.published_at,"
            " model_version = excluded.model_version,"
            " activity_model_version = excluded.activity_model_version,"
            " row_counts = excluded.row_counts returning published_at",
            [night.generated_for, night.model_version, night.activity_model_version, Jsonb(counts)],
        )
        .fetchone()[0]
        .isoformat()
    )


def replace_all(
    conn: psycopg.Connection,
    replacements: Sequence[Replacement],
    log_rows: Iterable[Sequence] = (),
    generated_for: date | None = None,
    night: Night | None = None,
) -> Publication:
    """Replace every table's rows and the day's history in one transaction.

    Readers keep seeing the previous sets until the commit and the whole new sets after it
    (PostgreSQL MVCC), never a partial or empty table, nor one table new and the other old.
    ``log_rows`` (``LOG_COLUMNS``) replace the history of ``generated_for``; history older than
    ``LOG_RETENTION_DAYS`` is dropped. With a ``night``, its row of ``portal.publication``
    (rows written per table) is written in the same transaction.

    Publications take turns (an advisory lock): one that starts while another runs waits for
    its commit, then replaces what it committed. A publication for a night older than the one
    the portal serves changes nothing: the portal and the history stay as they are, a WARNING
    says why, and the returned ``Publication`` has ``published=False``.
    """
    with conn.transaction():
        _lock(conn)
        served = None if generated_for is None else _served_night(conn, replacements)
        if served is not None and generated_for < served:
            reason = (
                f"portal kept as it is: it serves the night of {served}, newer than "
                f"{generated_for}; a re-run of an older night does not publish"
            )
            log.warning("%s", reason)
            return Publication([0] * len(replacements), False, served, reason)
        written = []
        for replacement in replacements:
            conn.execute(sql.SQL("delete from {}").format(sql.Identifier(*replacement.table)))
            written.append(_copy(conn, replacement.table, replacement.columns, replacement.rows))
        if generated_for is not None:
            conn.execute(
                sql.SQL(
                    "delete from {} where generated_for = %s "
                    "or generated_for < %s::date - make_interval(days => %s)"
                ).format(sql.Identifier(*LOG_TABLE)),
                [generated_for, generated_for, LOG_RETENTION_DAYS],
            )
            _copy(conn, LOG_TABLE, LOG_COLUMNS, log_rows)
        published_at = None if night is None else _record(conn, night, replacements, written)
    return Publication(written, True, served, published_at=published_at)
