"""Right of access: everything libcrm holds about one patron, as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from libcrm import config
from libcrm.identity import card_held
from libcrm.pseudonym import user_key, verify_key

# Schemas libcrm writes; a patron's rows are found by whichever identifier a table carries.
SCHEMAS = ("raw", "identity", "staging", "intermediate", "marts", "snapshots", "portal", "recsys")
CARD_COLUMNS = ("barcode", "card_number")
IDENTIFIER_COLUMNS = ("patron_id", "user_key", *CARD_COLUMNS)


def _tables_with_identifiers(conn: psycopg.Connection) -> dict[tuple[str, str], set[str]]:
    """Each table of ``SCHEMAS`` with an identifier column: its identifier columns, and
    ``batch_id`` when it has one."""
    found: dict[tuple[str, str], set[str]] = {}
    for schema, table, column in conn.execute(
        """
        select table_schema, table_name, column_name
        from information_schema.columns
        where table_schema = any(%s) and column_name = any(%s)
        """,
        [list(SCHEMAS), [*IDENTIFIER_COLUMNS, "batch_id"]],
    ):
        found.setdefault((schema, table), set()).add(column)
    return {table: columns for table, columns in found.items() if columns - {"batch_id"}}


def _card_match(column: str, batched: bool) -> sql.Composable:
    """Rows naming one of the patron's cards: in a loaded batch, only while the card was theirs
    (a card may change hands); elsewhere their current card."""
    if batched:
        return sql.SQL(
            "exists (select from identity.cards as cards where cards.user_key = %s and {})"
        ).format(sql.SQL(card_held("keyed", column)))
    return sql.SQL(
        "{} in (select barcode from identity.cards where user_key = %s and to_batch is null)"
    ).format(sql.Identifier(column))


def _rows(conn: psycopg.Connection, schema: str, table: str, conditions: list) -> list:
    condition = sql.SQL(" or ").join(part for part, _ in conditions)
    query = sql.SQL("select * from {} as keyed where {}").format(
        sql.Identifier(schema, table), condition
    )
    cursor = conn.execute(query, [value for _, value in conditions])
    names = [description.name for description in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def export_patron(conn: psycopg.Connection, patron_id: str) -> dict:
    """Every row about ``patron_id`` in libcrm's schemas, and quarantined lines naming it."""
    secret = config.pseudonym_key()
    verify_key(conn, secret)
    key = user_key(secret, patron_id)
    tables: dict[str, list] = {}
    for (schema, table), columns in sorted(_tables_with_identifiers(conn).items()):
        conditions = [
            (sql.SQL("{} = %s").format(sql.Identifier(column)), value)
            for column, value in (("patron_id", patron_id), ("user_key", key))
            if column in columns
        ]
        conditions += [
            (_card_match(column, "batch_id" in columns), key)
            for column in CARD_COLUMNS
            if column in columns
        ]
        found = _rows(conn, schema, table, conditions)
        if found:
            tables[f"{schema}.{table}"] = found
    cards = conn.execute("select barcode from identity.cards where user_key = %s", [key])
    patterns = [f"%{value}%" for value in {patron_id, *(card for (card,) in cards)}]
    quarantined = conn.execute(
        "select file, line, content, reason from quarantine.rejected_rows "
        "where content like any(%s)",
        [patterns],
    ).fetchall()
    if quarantined:
        tables["quarantine.rejected_rows"] = [
            dict(zip(("file", "line", "content", "reason"), row, strict=True))
            for row in quarantined
        ]
    return {
        "patron_id": patron_id,
        "user_key": key,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "tables": tables,
    }


def export_json(conn: psycopg.Connection, patron_id: str) -> str:
    """The export as indented JSON text (dates and numbers as strings where JSON has none)."""
    return json.dumps(export_patron(conn, patron_id), indent=2, default=str, ensure_ascii=False)
