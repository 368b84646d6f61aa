"""Key rotation: re-key every ``user_key`` in the warehouse from the old secret to a new one.

The pseudonym of a patron is HMAC(secret, patron_id). Rotating computes each patron's new
pseudonym from ``identity.patron_keys`` and rewrites ``user_key`` in every table that has one,
in one transaction: either everything is re-keyed or nothing is. Afterwards the pipeline must
run with the new secret (point ``LIBCRM_PSEUDONYM_KEY_FILE`` at the new file).
"""

from __future__ import annotations

import psycopg
from psycopg import sql

from libcrm.pseudonym import user_key

SCHEMAS = ("raw", "identity", "marts", "snapshots", "intermediate", "recsys", "quality")


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


def rotate(conn: psycopg.Connection, old_secret: bytes, new_secret: bytes) -> dict[str, int]:
    """Re-key every table; return rows changed per table. Raises RotationError on a wrong key."""
    if old_secret == new_secret:
        raise RotationError("the new key equals the old one")
    patrons = conn.execute("select patron_id, user_key from identity.patron_keys").fetchall()
    wrong = [pid for pid, key in patrons if user_key(old_secret, pid) != key]
    if wrong:
        raise RotationError(
            f"the old key does not produce the stored pseudonyms ({len(wrong)} of "
            f"{len(patrons)} patrons differ): pass the key the warehouse was built with"
        )
    changed = {}
    with conn.transaction():
        conn.execute(
            "create temporary table key_map (old text primary key, new text) on commit drop"
        )
        with conn.cursor().copy("copy key_map (old, new) from stdin") as copy:
            for patron_id, old in patrons:
                copy.write_row([old, user_key(new_secret, patron_id)])
        for schema, table in _tables_with_user_key(conn):
            statement = sql.SQL(
                "update {} as t set user_key = m.new from key_map as m where t.user_key = m.old"
            ).format(sql.Identifier(schema, table))
            changed[f"{schema}.{table}"] = conn.execute(statement).rowcount
    return changed
