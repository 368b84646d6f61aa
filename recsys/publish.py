"""Atomic publication of the portal's nightly tables and the history of what was shown."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import psycopg
from psycopg import sql

LOG_TABLE = ("recsys", "recommendation_log")
LOG_COLUMNS = ("kind", "user_key", "rank", "target_id", "score", "generated_for", "model_version")
# History kept for the uptake mart: far longer than its window, short enough to stay small.
LOG_RETENTION_DAYS = 180


@dataclass(frozen=True)
class Replacement:
    """The new full content of one table."""

    table: tuple[str, str]
    columns: Sequence[str]
    rows: Iterable[Sequence]


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


def replace_all(
    conn: psycopg.Connection,
    replacements: Sequence[Replacement],
    log_rows: Iterable[Sequence] = (),
    generated_for: date | None = None,
) -> list[int]:
    """Replace every table's rows and the day's history in one transaction.

    Readers keep seeing the previous sets until the commit and the whole new sets after it
    (PostgreSQL MVCC), never a partial or empty table, nor one table new and the other old.
    ``log_rows`` (``LOG_COLUMNS``) replace the history of ``generated_for``; history older than
    ``LOG_RETENTION_DAYS`` is dropped. Returns the rows written per replacement.
    """
    written = []
    with conn.transaction():
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
    return written


def replace_rows(
    conn: psycopg.Connection,
    table: tuple[str, str],
    columns: Sequence[str],
    rows: Iterable[Sequence],
) -> int:
    """Replace every row of ``table`` with ``rows`` in one transaction."""
    return replace_all(conn, [Replacement(table, columns, rows)])[0]
