"""Small hand-made marts for the recommender's tests: the tables and the identity rows the
nightly run reads, filled on a test warehouse."""

from __future__ import annotations

import psycopg
from psycopg import sql


def fill(conn: psycopg.Connection, ddl: str, tables: dict[str, list[tuple]], users) -> None:
    """Create the marts of ``ddl``, insert ``tables`` (mart name -> rows) and give every user
    (rows whose first value is the user key) a patron id ``P<key>`` and barcode ``B<key>``."""
    conn.execute(ddl)
    for table, rows in tables.items():
        marks = sql.SQL(", ").join(sql.SQL("%s") for _ in rows[0])
        insert = sql.SQL("insert into {} values ({})").format(sql.Identifier("marts", table), marks)
        conn.cursor().executemany(insert, rows)
    conn.cursor().executemany(
        "insert into identity.patron_keys (user_key, patron_id, barcode) values (%s, %s, %s)",
        [(user[0], f"P{user[0]}", f"B{user[0]}") for user in users],
    )
