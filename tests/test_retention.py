"""Retention limits on a real PostgreSQL: old loans lose their patron, old passages go."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from libcrm import ingest
from libcrm.privacy import retention
from tests.conftest import LANDING

DAY = date(2026, 3, 16)


@pytest.fixture
def loaded(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("truncate raw.loans, raw.gate_passages, raw.load_audit, raw.patrons")
        conn.execute("drop table if exists marts.fct_visits")
    for source in ("ils", "gate"):
        ingest.ingest_source(source, DAY, warehouse_url, LANDING)
    return warehouse_url


def test_returned_loans_past_the_limit_lose_their_patron(loaded, monkeypatch):
    monkeypatch.setenv("LIBCRM_LOAN_LINK_DAYS", "30")
    with psycopg.connect(loaded) as conn:
        result = retention.apply(conn, date(2026, 3, 16))
        rows = dict(conn.execute("select loan_id, patron_id from raw.loans").fetchall())
    # Returned before 2026-02-14: L1 (Jan 20). L3 (Feb 20) and L5 (Mar 16) are recent.
    assert result.loans_detached == 1
    assert result.holds_detached == 1  # H2, closed on Jan 20
    assert rows["L1"] is None
    assert rows["L3"] == "P002" and rows["L2"] == "P001"  # L2 is still on loan


def test_open_loans_keep_their_patron_whatever_their_age(loaded, monkeypatch):
    monkeypatch.setenv("LIBCRM_LOAN_LINK_DAYS", "0")
    with psycopg.connect(loaded) as conn:
        retention.apply(conn, date(2027, 1, 1))
        linked = {
            r[0] for r in conn.execute("select loan_id from raw.loans where user_key is not null")
        }
    assert linked == {"L2", "L4"}


def test_gate_passages_go_only_once_visits_are_built(loaded, monkeypatch):
    monkeypatch.setenv("LIBCRM_GATE_PASSAGE_DAYS", "0")
    with psycopg.connect(loaded) as conn:
        assert retention.apply(conn, date(2026, 3, 17)).gate_passages_deleted == 0
        conn.execute("create table marts.fct_visits (entered_at timestamp)")
        conn.execute("insert into marts.fct_visits values ('2026-03-16 08:30:00')")
        conn.commit()
        result = retention.apply(conn, date(2026, 3, 17))
        left = conn.execute("select count(*) from raw.gate_passages").fetchone()[0]
    # Passages up to the last built visit (08:30, 08:30:40 is later) are deleted.
    assert result.gate_passages_deleted == 1
    assert left == 3
