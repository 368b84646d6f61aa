"""Connections to the warehouse and the bootstrap of the pipeline's own tables."""

from __future__ import annotations

from pathlib import Path

import psycopg
from psycopg import sql

from libcrm import config

SCHEMA_DIR = Path(__file__).with_name("schema")


def connect(url: str | None = None, **kwargs) -> psycopg.Connection:
    """Open a connection to the warehouse (``LIBCRM_DATABASE_URL`` unless ``url`` is given)."""
    return psycopg.connect(url or config.database_url(), **kwargs)


def bootstrap(url: str | None = None) -> None:
    """Create the schemas, tables and roles the pipeline needs, if they do not exist yet."""
    with connect(url) as conn:
        for script in sorted(SCHEMA_DIR.glob("*.sql")):
            conn.execute(script.read_text())


def count_rows(conn: psycopg.Connection, table: str) -> int:
    """Return the number of rows of ``schema.table``, or 0 when it does not exist."""
    schema, name = table.split(".")
    exists = conn.execute("select to_regclass(%s)", [table]).fetchone()[0]
    if exists is None:
        return 0
    query = sql.SQL("select count(*) from {}").format(sql.Identifier(schema, name))
    return conn.execute(query).fetchone()[0]


def bootstrap_operations(conn: psycopg.Connection) -> None:
    """Create the failure table only (a failure may come before any full bootstrap)."""
    conn.execute((SCHEMA_DIR / "00_schemas.sql").read_text())
    conn.execute((SCHEMA_DIR / "25_operations.sql").read_text())
