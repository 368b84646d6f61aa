"""Cards change: rows keyed by card go to the card's holder when their batch was loaded."""

from __future__ import annotations

import shutil
from datetime import date

import psycopg
import pytest

from libcrm import db, identity, ingest
from libcrm.privacy import retention
from libcrm.privacy.access import export_patron
from libcrm.pseudonym import user_key
from tests.conftest import LANDING, TEST_KEY

FIRST, SECOND = date(2026, 3, 16), date(2026, 3, 17)
GATE_HEADER = "card_number,timestamp,direction,gate_id\n"


def _key(patron_id: str) -> str:
    return user_key(TEST_KEY.encode(), patron_id)


@pytest.fixture(scope="module")
def changed_hands(warehouse_url, tmp_path_factory):
    """Day one as in the test landing; on day two P001 gets card 2026000009 and P001's old card
    2023000001 goes to P002, whose card 2023000002 is no longer in use."""
    landing = tmp_path_factory.mktemp("landing")
    shutil.copytree(LANDING, landing, dirs_exist_ok=True)
    patrons = (LANDING / "ils" / FIRST.isoformat() / "patrons.csv").read_text()
    patrons = patrons.replace("P001,2023000001", "P001,2026000009")
    patrons = patrons.replace("P002,2023000002", "P002,2023000001")
    second = landing / "ils" / SECOND.isoformat()
    second.mkdir(parents=True)
    (second / "patrons.csv").write_text(patrons)
    gate = landing / "gate" / SECOND.isoformat()
    gate.mkdir(parents=True)
    (gate / "gate_log.csv").write_text(
        GATE_HEADER
        + "2023000001,2026-03-17 09:00:00,in,G1\n"
        + "2026000009,2026-03-17 10:00:00,in,G1\n"
        + "2023000002,2026-03-17 11:00:00,in,G1\n"
    )
    for day in (FIRST, SECOND):
        for source in ("ils", "gate"):
            ingest.ingest_source(source, day, warehouse_url, landing)
    return warehouse_url


def _holders(conn, day: date) -> list[tuple[str, str]]:
    holder = identity.card_holder_join("passages", "card_number")
    return conn.execute(
        f"select passages.card_number, cards.user_key from raw.gate_passages as passages "  # noqa: S608
        f"{holder} where passages.passed_at::date = %s order by passages.source_line",
        [day],
    ).fetchall()


def test_a_card_that_changed_hands_keeps_its_earlier_passages_with_their_holder(changed_hands):
    with psycopg.connect(changed_hands) as conn:
        first = _holders(conn, FIRST)
        second = _holders(conn, SECOND)
    assert ("2023000001", _key("P001")) in first and ("2023000002", _key("P002")) in first
    assert second == [
        ("2023000001", _key("P002")),
        ("2026000009", _key("P001")),
        ("2023000002", _key("P002")),  # replaced that day: its earlier passages stay P002's
    ]


def test_the_access_export_holds_a_patrons_passages_under_every_card_and_no_one_elses(
    changed_hands,
):
    with psycopg.connect(changed_hands) as conn:
        p1 = export_patron(conn, "P001")["tables"]["raw.gate_passages"]
        p2 = export_patron(conn, "P002")["tables"]["raw.gate_passages"]
        with_old_card = conn.execute(
            "select count(*) from raw.gate_passages where card_number = '2023000001'"
        ).fetchone()[0]
    p1_days = {(row["card_number"], row["passed_at"].date()) for row in p1}
    p2_days = {(row["card_number"], row["passed_at"].date()) for row in p2}
    assert ("2023000001", FIRST) in p1_days and ("2026000009", SECOND) in p1_days
    assert ("2023000001", SECOND) not in p1_days
    assert ("2023000001", SECOND) in p2_days and ("2023000001", FIRST) not in p2_days
    assert len([r for r in p1 + p2 if r["card_number"] == "2023000001"]) == with_old_card


def test_a_retired_card_is_forgotten_once_no_raw_row_needs_it(changed_hands):
    with psycopg.connect(changed_hands) as conn:
        kept = retention.apply(conn, SECOND).retired_cards_forgotten
        conn.execute("delete from raw.gate_passages where card_number = '2023000002'")
        forgotten = retention.apply(conn, SECOND).retired_cards_forgotten
        left = conn.execute(
            "select barcode, user_key from identity.cards where to_batch is not null"
        ).fetchall()
    assert (kept, forgotten) == (0, 1)
    assert left == [("2023000001", _key("P001"))]  # its day-one passages still need it


def test_rows_loaded_with_a_user_key_column_keep_their_patron_after_the_upgrade(warehouse_url):
    """A warehouse from before the card map: its rows seed the map, then the column goes."""
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("truncate raw.gate_passages, identity.cards, identity.patron_keys")
        conn.execute("alter table raw.gate_passages add column user_key text")
        conn.execute("alter table raw.event_registrations add column user_key text")
        conn.execute(
            "insert into raw.gate_passages (batch_id, source_line, user_key, card_number, "
            "passed_at, direction) values (1, 1, 'k-old', 'C1', '2026-03-16 09:00', 'in')"
        )
    db.bootstrap(warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        holders = _holders(conn, FIRST)
        columns = conn.execute(
            "select count(*) from information_schema.columns where column_name = 'user_key' "
            "and table_name in ('gate_passages', 'event_registrations')"
        ).fetchone()[0]
    assert holders == [("C1", "k-old")] and columns == 0
