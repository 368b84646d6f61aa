"""Least privilege: each contract role reads and writes only what it should."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors, sql

READ = {
    "raw": "select count(*) from raw.loans",
    "identity": "select count(*) from identity.patron_keys",
    "marts": "select count(*) from marts.sample",
    "quality": "select count(*) from quality.validation_results",
    "portal": "select count(*) from portal.resource_recommendations",
    "portal_reports": "select count(*) from portal.impressions",
    "portal_tokens": "select count(*) from portal.api_tokens",
    "recsys": "select count(*) from recsys.recommendation_log",
}
WRITE = {
    "raw": "insert into raw.gate_passages (batch_id, source_line, card_number, passed_at, "
    "direction) values (1, 1, 'c', now(), 'in')",
    "identity": "insert into identity.patron_keys (user_key, patron_id, barcode) "
    "values ('k', 'p', 'b')",
    "marts": "insert into marts.sample values (1)",
    "portal": "insert into portal.resource_recommendations values "
    "('P1', 1, 'I1', 0.5, 'r', current_date, 'v')",
    "portal_reports": "insert into portal.dismissals (patron_id, kind, target_id, dismissed_at) "
    "values ('P1', 'books', 'I1', now())",
}
ALLOWED_READS = {
    "libcrm_loader": {"raw", "identity"},
    "libcrm_transformer": {
        "raw",
        "identity",
        "marts",
        "quality",
        "portal",
        "portal_reports",
        "portal_tokens",
        "recsys",
    },
    "libcrm_portal": {"portal"},
    "libcrm_analyst": {"marts", "quality"},
}
ALLOWED_WRITES = {
    "libcrm_loader": {"raw", "identity"},
    "libcrm_transformer": {"marts", "portal", "portal_reports"},
    "libcrm_portal": {"portal_reports"},
    "libcrm_analyst": set(),
}


@pytest.fixture(scope="module")
def warehouse(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("create table marts.sample (n integer)")  # as dbt would, after bootstrap
    return warehouse_url


def _can(url: str, role: str, statement: str) -> bool:
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        try:
            conn.execute(statement)
        except errors.InsufficientPrivilege:
            return False
        finally:
            conn.rollback()
    return True


@pytest.mark.parametrize("role", sorted(ALLOWED_READS))
def test_reads(warehouse, role):
    allowed = {layer for layer, query in READ.items() if _can(warehouse, role, query)}
    assert allowed == ALLOWED_READS[role]


@pytest.mark.parametrize("role", sorted(ALLOWED_WRITES))
def test_writes(warehouse, role):
    allowed = {layer for layer, query in WRITE.items() if _can(warehouse, role, query)}
    assert allowed == ALLOWED_WRITES[role]


def test_public_cannot_read_anything(warehouse):
    nobody = f"libcrm_test_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(warehouse, autocommit=True) as conn:
        conn.execute(sql.SQL("create role {} nologin").format(sql.Identifier(nobody)))
    try:
        assert not any(_can(warehouse, nobody, query) for query in READ.values())
    finally:
        with psycopg.connect(warehouse, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(nobody)))
