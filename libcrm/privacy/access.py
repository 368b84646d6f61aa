"""Right of access: everything libcrm holds about one patron, as JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import psycopg
from psycopg import sql

from libcrm import config
from libcrm.pseudonym import user_key

# Schemas libcrm writes; a patron's rows are found by whichever identifier a table carries.
SCHEMAS = ("raw", "identity", "staging", "intermediate", "marts", "snapshots", "portal", "recsys")
IDENTIFIER_COLUMNS = ("patron_id", "user_key", "barcode", "card_number")


def _tables_with_identifiers(conn: psycopg.Connection) -> list[tuple[str, str, str]]:
    return conn.execute(
        """
        select table_schema, table_name, column_name
        from information_schema.columns
        where table_schema = any(%s) and column_name = any(%s)
        order by table_schema, table_name, column_name
        """,
        [list(SCHEMAS), list(IDENTIFIER_COLUMNS)],
    ).fetchall()


def _rows(conn: psycopg.Connection, schema: str, table: str, matches: dict[str, str]) -> list:
    condition = sql.SQL(" or ").join(
        sql.SQL("{} = %s").format(sql.Identifier(column)) for column in matches
    )
    query = sql.SQL("select * from {} where {}").format(sql.Identifier(schema, table), condition)
    cursor = conn.execute(query, list(matches.values()))
    names = [description.name for description in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def export_patron(conn: psycopg.Connection, patron_id: str) -> dict:
    """Every row about ``patron_id`` in libcrm's schemas, and quarantined lines naming it."""
    key = user_key(config.pseudonym_key(), patron_id)
    card = conn.execute(
        "select barcode from identity.patron_keys where user_key = %s", [key]
    ).fetchone()
    values = {"patron_id": patron_id, "user_key": key}
    if card:
        values["barcode"] = values["card_number"] = card[0]
    columns: dict[tuple[str, str], dict[str, str]] = {}
    for schema, table, column in _tables_with_identifiers(conn):
        if column in values:
            columns.setdefault((schema, table), {})[column] = values[column]
    tables: dict[str, list] = {}
    for (schema, table), matches in columns.items():
        found = _rows(conn, schema, table, matches)
        if found:
            tables[f"{schema}.{table}"] = found
    patterns = [f"%{value}%" for value in {patron_id, values.get("barcode", patron_id)}]
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
