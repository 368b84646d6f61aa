"""Key rotation: re-key every ``user_key`` in the warehouse from the old secret to a new one.

The pseudonym of a patron is HMAC(secret, patron_id). Rotating computes each patron's new
pseudonym from every (patron id, user key) pair the loader wrote (``raw`` and
``identity``) and rewrites ``user_key`` in every table that has one,
in one transaction: either everything is re-keyed or nothing is. The old secret is checked as
every writer checks its key (``verify_key``), and the new one's fingerprint replaces it in the
same transaction, so afterwards the pipeline runs only with the new secret (point
``LIBCRM_PSEUDONYM_KEY_FILE`` at the new file).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from libcrm.pseudonym import (
    lock_key_exclusively,
    record_key,
    stored_pseudonyms,
    user_key,
    verify_key,
)

SCHEMAS = (
    "raw",
    "identity",
    "marts",
    "snapshots",
    "intermediate",
    "recsys",
    "quality",
    "workspace",
)


class RotationError(RuntimeError):
    """The rotation cannot proceed; nothing was changed."""


def _tables_with_user_key(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return conn.execute(
        """
        select c.table_schema, c.table_name
        from information_schema.columns as c
        inner join information_schema.tables as t
            on c.table_schema = t.table_schema and c.table_name = t.table_name
        where c.column_name = 'user_key' and t.table_type = 'BASE TABLE'
            and c.table_schema = any(%s)
        order by c.table_schema, c.table_name
        """,
        [list(SCHEMAS)],
    ).fetchall()


def rotate(
    conn: psycopg.Connection, old_secret: bytes, new_secret: bytes, old_origin: str = "the old key"
) -> dict[str, int]:
    """Re-key every table; return rows changed per table.

    Raises
    ------
    RotationError
        When the new key equals the old one.
    libcrm.config.ConfigError
        When the old key (from ``old_origin``) is not the warehouse's.
    """
    if old_secret == new_secret:
        raise RotationError("the new key equals the old one")
    changed = {}
    with conn.transaction():
        lock_key_exclusively(conn)
        verify_key(conn, old_secret, old_origin)
        # Every pseudonym written, not only the patrons export's: a loan may name a patron the
        # ILS never exported, and its rows must follow the new key too.
        patrons = dict((old, patron_id) for patron_id, old in stored_pseudonyms(conn))
        conn.execute(
            "create temporary table key_map (old text primary key, new text) on commit drop"
        )
        with conn.cursor().copy("copy key_map (old, new) from stdin") as copy:
            for old, patron_id in patrons.items():
                copy.write_row([old, user_key(new_secret, patron_id)])
        for schema, table in _tables_with_user_key(conn):
            statement = sql.SQL(
                "update {} as t set user_key = m.new from key_map as m where t.user_key = m.old"
            ).format(sql.Identifier(schema, table))
            changed[f"{schema}.{table}"] = conn.execute(statement).rowcount
        record_key(conn, new_secret)
    return changed
