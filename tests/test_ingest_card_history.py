"""Rows keyed by card resolve through the card's history: a replaced card's rows up to its
replacement keep their patron, whether their file comes on time or late."""

from __future__ import annotations

import json
import shutil
from datetime import date

import psycopg
import pytest

from libcrm import identity, ingest, transform
from libcrm.pseudonym import user_key
from tests.conftest import LANDING, TEST_KEY

FIRST, LATE, CHANGE = date(2026, 3, 16), date(2026, 3, 17), date(2026, 3, 18)
GATE_HEADER = "card_number,timestamp,direction,gate_id\n"


def _key(patron_id: str) -> str:
    return user_key(TEST_KEY.encode(), patron_id)


def _write(landing, source: str, day: date, name: str, text: str) -> None:
    folder = landing / source / day.isoformat()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


@pytest.fixture(scope="module")
def replaced(warehouse_url, tmp_path_factory):
    """On CHANGE the ILS gives P002 a new card (2023000002 is replaced) and P001's card
    2023000001 to P003 (whose card 2022000003 is replaced). That day's gate log, on time,
    has passages on the old cards earlier in the day; the gate log and registrations of LATE
    arrive only after CHANGE's patrons were loaded."""
    landing = tmp_path_factory.mktemp("landing")
    shutil.copytree(LANDING, landing, dirs_exist_ok=True)
    patrons = (LANDING / "ils" / FIRST.isoformat() / "patrons.csv").read_text()
    _write(landing, "ils", LATE, "patrons.csv", patrons)
    changed = patrons.replace("P002,2023000002", "P002,2026000002")
    changed = changed.replace("P001,2023000001", "P001,2026000001")
    changed = changed.replace("P003,2022000003", "P003,2023000001")
    _write(landing, "ils", CHANGE, "patrons.csv", changed)
    _write(
        landing,
        "gate",
        CHANGE,
        "gate_log.csv",
        GATE_HEADER
        + "2023000002,2026-03-18 08:00:00,in,G1\n"  # P002's old card, before the new one
        + "2026000002,2026-03-18 15:00:00,in,G1\n"
        + "2023000001,2026-03-18 16:00:00,in,G1\n"  # now P003's
        + "2026000001,2026-03-18 17:00:00,in,G1\n",
    )
    for source in ("ils", "gate", "events"):
        ingest.ingest_source(source, FIRST, warehouse_url, landing)
    ingest.ingest_source("ils", LATE, warehouse_url, landing)
    ingest.ingest_source("ils", CHANGE, warehouse_url, landing)
    ingest.ingest_source("gate", CHANGE, warehouse_url, landing)
    _write(
        landing,
        "gate",
        LATE,
        "gate_log.csv",
        GATE_HEADER
        + "2023000002,2026-03-17 09:00:00,in,G1\n"
        + "2023000001,2026-03-17 10:00:00,in,G1\n"
        + "2022000003,2026-03-17 11:00:00,in,G1\n",
    )
    registrations = {
        "registrations": [
            {
                "registration_id": 89001,
                "event_id": 1201,
                "barcode": "2023000002",
                "registered_at": "2026-03-17 10:00:00",
                "attendance": "unknown",
                "rating": None,
            },
            {
                "registration_id": 89002,
                "event_id": 1201,
                "barcode": "2022000003",
                "registered_at": "2026-03-17 10:05:00",
                "attendance": "unknown",
                "rating": None,
            },
        ]
    }
    _write(landing, "events", LATE, "registrations.json", json.dumps(registrations))
    late = ingest.ingest_source("gate", LATE, warehouse_url, landing)
    late += ingest.ingest_source("events", LATE, warehouse_url, landing)
    return warehouse_url, late


def _holders(conn, table: str, card: str, day: date) -> list[tuple[str, str | None]]:
    holder = identity.card_holder_join("keyed", card)
    return conn.execute(
        f"select keyed.{card}, cards.user_key from raw.{table} as keyed {holder} "  # noqa: S608
        "join raw.load_audit as audit using (batch_id) where audit.data_date = %s "
        "order by keyed.source_line",
        [day],
    ).fetchall()


def test_a_replaced_cards_rows_of_its_last_day_keep_their_patron_on_time(replaced):
    url, _ = replaced
    with psycopg.connect(url) as conn:
        holders = _holders(conn, "gate_passages", "card_number", CHANGE)
    assert holders == [
        ("2023000002", _key("P002")),
        ("2026000002", _key("P002")),
        ("2023000001", _key("P003")),  # the card changed hands that day: its new holder's
        ("2026000001", _key("P001")),
    ]


def test_a_late_file_keeps_every_card_with_its_holder_of_that_day(replaced):
    url, late = replaced
    with psycopg.connect(url) as conn:
        passages = _holders(conn, "gate_passages", "card_number", LATE)
        registrations = _holders(conn, "event_registrations", "barcode", LATE)
    assert [(r.rows_read, r.rows_quarantined) for r in late] == [(3, 0), (2, 0)]
    assert passages == [
        ("2023000002", _key("P002")),
        ("2023000001", _key("P001")),
        ("2022000003", _key("P003")),
    ]
    assert registrations == [("2023000002", _key("P002")), ("2022000003", _key("P003"))]


def test_a_card_no_patron_held_on_the_day_is_quarantined_saying_what_would_help(replaced, tmp_path):
    url, _ = replaced
    after = date(2026, 3, 19)
    _write(
        tmp_path,
        "gate",
        after,
        "gate_log.csv",
        GATE_HEADER + "2023000002,2026-03-19 08:00:00,in,G1\n",
    )
    ingest.ingest_source("gate", after, url, tmp_path)
    with psycopg.connect(url) as conn:
        (reason,) = conn.execute(
            "select reason from quarantine.rejected_rows where file = %s",
            [f"gate/{after.isoformat()}/gate_log.csv"],
        ).fetchone()
    assert reason.startswith("card_number '2023000002' is not a card any patron held on 2026-03-19")
    assert "run this day again" not in reason and "patrons.csv" in reason


def test_dbt_staging_gives_every_accepted_row_the_holder_the_loader_accepted_it_on(replaced):
    url, _ = replaced
    transform.run_dbt(["run", "--select", "stg_gate__passages stg_events__registrations"], url)
    with psycopg.connect(url) as conn:
        loaded = conn.execute(
            "select batch_id, source_line, cards.user_key from raw.gate_passages as keyed "  # noqa: S608
            f"{identity.card_holder_join('keyed', 'card_number')} order by 1, 2"
        ).fetchall()
        staged = conn.execute(
            "select batch_id, source_line, user_key from staging.stg_gate__passages order by 1, 2"
        ).fetchall()
        registrations = conn.execute(
            "select count(*), count(user_key) from staging.stg_events__registrations"
        ).fetchone()
        registered = conn.execute(
            "select count(distinct registration_id) from raw.event_registrations"
        ).fetchone()
    assert staged == loaded and all(key for _, _, key in loaded)
    assert registrations == (registered[0], registered[0])
