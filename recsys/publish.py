"""Atomic publication of the portal's nightly tables."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import psycopg
from psycopg import sql


def replace_rows(
    conn: psycopg.Connection,
    table: tuple[str, str],
    columns: Sequence[str],
    rows: Iterable[Sequence],
) -> int:
    """Replace every row of ``table`` with ``rows`` in one transaction.

    Readers keep seeing the previous set until the commit and the whole new set after it
    (PostgreSQL MVCC), never a partial or empty table.
    """
    target = sql.Identifier(*table)
    copy = sql.SQL("copy {} ({}) from stdin").format(
        target, sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    written = 0
    with conn.transaction():
        conn.execute(sql.SQL("delete from {}").format(target))
        with conn.cursor().copy(copy) as writer:
            for row in rows:
                writer.write_row(row)
                written += 1
    return written
