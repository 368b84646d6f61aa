"""Ingestion against a real PostgreSQL: every row loaded or quarantined, counts reconcile."""

from __future__ import annotations

import shutil
from datetime import date

import psycopg
import pytest

from libcrm import identity, ingest
from libcrm.ingest.fields import RowError, integer, timestamp
from libcrm.pseudonym import user_key
from tests.conftest import LANDING, TEST_KEY

DAY = date(2026, 3, 16)


@pytest.fixture(scope="module")
def landing(tmp_path_factory):
    folder = tmp_path_factory.mktemp("landing")
    shutil.copytree(LANDING, folder, dirs_exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def loaded(warehouse_url, landing):
    return {
        s: ingest.ingest_source(s, DAY, warehouse_url, landing) for s in ("ils", "gate", "events")
    }


def test_every_row_is_loaded_or_quarantined(loaded, warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        audit = conn.execute(
            "select file, rows_read, rows_loaded, rows_quarantined from raw.load_audit"
        ).fetchall()
        quarantined = dict(
            conn.execute(
                "select file, count(*) from quarantine.rejected_rows group by file"
            ).fetchall()
        )
        loans = conn.execute("select count(*) from raw.loans").fetchone()[0]
    assert len(audit) == 8
    for file, read, rows_loaded, rows_quarantined in audit:
        assert read == rows_loaded + rows_quarantined, file
        assert quarantined.get(file, 0) == rows_quarantined, file
    assert loans == 5  # loans.csv has 6 rows, one with a bad checkout time


def test_the_loaded_tables_have_planner_statistics_at_once(loaded, warehouse_url):
    # The validations and models plan their joins on these tables right after the load; an
    # estimate from before it (autovacuum analyses later, or never for a small day) once made
    # a two-second check run for many minutes.
    tables = ("patrons", "loans", "gate_passages", "event_registrations")
    with psycopg.connect(warehouse_url) as conn:
        estimated = dict(
            conn.execute(
                "select relname, reltuples from pg_class "
                "where relnamespace = 'raw'::regnamespace and relname = any(%s)",
                [list(tables)],
            ).fetchall()
        )
        counted = {
            table: conn.execute(f"select count(*) from raw.{table}").fetchone()[0]  # noqa: S608
            for table in tables
        }
    assert estimated == {table: float(count) for table, count in counted.items()}


def test_rejections_name_file_line_and_reason(loaded, warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        rows = conn.execute(
            "select file, line, reason from quarantine.rejected_rows order by file, line"
        ).fetchall()
    assert ("gate/2026-03-16/gate_log.csv", 6, "direction 'X' is not in|out") in rows
    assert any(
        file.endswith("gate_log.csv") and line == 7 and "not a card any patron held" in reason
        for file, line, reason in rows
    )
    assert (
        "ils/2026-03-16/loans.csv",
        7,
        "checkout_at 'not a time' is not a local time (YYYY-MM-DD HH:MM:SS)",
    ) in rows
    assert ("ils/2026-03-16/patrons.csv", 6, "barcode is empty but required") in rows
    assert (
        "ils/2026-03-16/holds.csv",
        4,
        "status 'on_shelf' is not waiting|filled|expired|cancelled",
    ) in rows
    assert any(
        file.endswith("purchase_requests.csv")
        and line == 4
        and reason.startswith("duplicate request_id 'R2': already on line 3")
        for file, line, reason in rows
    )


def test_holds_and_purchase_requests_carry_pseudonyms_not_patron_ids(loaded, warehouse_url):
    secret = TEST_KEY.encode()
    with psycopg.connect(warehouse_url) as conn:
        holds = conn.execute(
            "select hold_id, user_key, status, filled_at::text from raw.holds order by hold_id"
        ).fetchall()
        requests = conn.execute(
            "select request_id, user_key, title, status from raw.purchase_requests"
        ).fetchall()
    assert holds == [
        ("H1", user_key(secret, "P001"), "waiting", None),
        ("H2", user_key(secret, "P002"), "filled", "2026-01-20 10:00:00"),
    ]
    assert requests == [
        ("R1", user_key(secret, "P001"), "Deep Learning, 2nd edition", "ordered"),
        ("R2", user_key(secret, "P003"), "Real Analysis", "pending"),
    ]


def test_gate_rows_carry_the_patrons_keyed_pseudonym(loaded, warehouse_url):
    holder = identity.card_holder_join("passages", "card_number")
    with psycopg.connect(warehouse_url) as conn:
        keys = {
            row[0]
            for row in conn.execute(
                f"select distinct cards.user_key from raw.gate_passages as passages {holder}"  # noqa: S608
            )
        }
    secret = TEST_KEY.encode()
    assert keys == {user_key(secret, "P001"), user_key(secret, "P002")}


def test_loading_the_same_day_again_changes_nothing(loaded, warehouse_url, landing):
    again = ingest.ingest_source("ils", DAY, warehouse_url, landing)
    assert [r.skipped for r in again] == [True] * 5
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.loans").fetchone()[0] == 5


def test_a_redelivered_file_replaces_its_batch(loaded, warehouse_url, landing):
    loans = landing / "ils" / "2026-03-16" / "loans.csv"
    original = loans.read_text()
    loans.write_text(
        original.replace("L6,P003,I001,not a time,,", "L6,P003,I001,2026-03-16 09:00:00,,")
    )
    try:
        results = ingest.ingest_source("ils", DAY, warehouse_url, landing)
    finally:
        loans.write_text(original)
    replaced = [r for r in results if r.entity == "loans"][0]
    assert (replaced.rows_loaded, replaced.rows_quarantined) == (6, 0)
    with psycopg.connect(warehouse_url) as conn:
        assert conn.execute("select count(*) from raw.loans").fetchone()[0] == 6
        assert (
            conn.execute(
                "select count(*) from quarantine.rejected_rows where file like '%%loans.csv'"
            ).fetchone()[0]
            == 0
        )


def test_gbk_encoded_gate_log_is_read(warehouse_url, landing):
    folder = landing / "gate" / "2026-03-17"
    folder.mkdir(parents=True)
    (folder / "gate_log.csv").write_bytes(
        "card_number,timestamp,direction,gate_id\n2023000001,2026-03-17 09:00:00,in,东门\n".encode(
            "gbk"
        )
    )
    (result,) = ingest.ingest_source("gate", date(2026, 3, 17), warehouse_url, landing)
    assert (result.rows_loaded, result.rows_quarantined) == (1, 0)
    with psycopg.connect(warehouse_url) as conn:
        gate = conn.execute(
            "select gate_id from raw.gate_passages where batch_id = %s", [result.batch_id]
        ).fetchone()[0]
    assert gate == "东门"


def test_utf8_with_a_byte_order_mark_is_read(warehouse_url, landing):
    folder = landing / "gate" / "2026-03-18"
    folder.mkdir(parents=True)
    text = "card_number,timestamp,direction,gate_id\n2023000001,2026-03-18 09:00:00,in,北门\n"
    (folder / "gate_log.csv").write_bytes(text.encode("utf-8-sig"))
    (result,) = ingest.ingest_source("gate", date(2026, 3, 18), warehouse_url, landing)
    assert (result.rows_loaded, result.rows_quarantined, result.extra_columns) == (1, 0, ())


def test_a_stray_byte_quarantines_its_row_and_keeps_the_others_intact(warehouse_url, landing):
    folder = landing / "gate" / "2026-03-19"
    folder.mkdir(parents=True)
    (folder / "gate_log.csv").write_bytes(
        b"card_number,timestamp,direction,gate_id\n"
        + "2023000001,2026-03-19 09:00:00,in,东门\n".encode()
        + b"2023000001,2026-03-19 10:00:00,out,G\xff2\n"
        + "2023000002,2026-03-19 11:00:00,in,南门\n".encode()
    )
    (result,) = ingest.ingest_source("gate", date(2026, 3, 19), warehouse_url, landing)
    assert (result.rows_loaded, result.rows_quarantined) == (2, 1)
    with psycopg.connect(warehouse_url) as conn:
        gates = conn.execute(
            "select gate_id from raw.gate_passages where batch_id = %s order by source_line",
            [result.batch_id],
        ).fetchall()
        line, content, reason = conn.execute(
            "select line, content, reason from quarantine.rejected_rows where batch_id = %s",
            [result.batch_id],
        ).fetchone()
    assert gates == [("东门",), ("南门",)]
    assert (line, content) == (3, "2023000001,2026-03-19 10:00:00,out,G\\xff2")
    assert reason.startswith("holds bytes that are not UTF-8 (0xff at byte 37 of the line)")


def test_lines_with_a_field_too_many_or_too_few_are_quarantined(loaded, warehouse_url, landing):
    # The surplus and the missing field cancel out: the file holds as many commas as four
    # fields per line need, yet two of its lines are not records of four fields.
    folder = landing / "gate" / "2026-03-20"
    folder.mkdir(parents=True)
    (folder / "gate_log.csv").write_text(
        "card_number,timestamp,direction,gate_id\n"
        "2023000001,2026-03-20 09:00:00,in,G1\n"
        "2023000001,2026-03-20 10:00:00,out,G1,surplus\n"
        "2023000002,2026-03-20 11:00:00,in\n"
        "2023000002,2026-03-20 12:00:00,out,G2\n"
    )
    (result,) = ingest.ingest_source("gate", date(2026, 3, 20), warehouse_url, landing)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (4, 2, 2)
    with psycopg.connect(warehouse_url) as conn:
        rejected = conn.execute(
            "select line, reason from quarantine.rejected_rows where batch_id = %s order by line",
            [result.batch_id],
        ).fetchall()
    assert rejected == [
        (3, "has 5 fields but the header has 4: check quoting"),
        (4, "has 3 fields but the header has 4: check quoting"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "2026-02-30 10:00:00",
        "2026-W11-1 09:00:00",
        "2026-03-16T09:00:00",
        "2026-03-16 09:00:00+08:00",
        "2026-03-16 9:00:00",
        "２０２６-03-16 09:00:00",
    ],
)
def test_only_real_local_times_in_the_documented_shape_pass(value):
    with pytest.raises(RowError, match="is not a local time"):
        timestamp(value)


def test_parsers_return_what_copy_reads_back():
    assert timestamp("2026-03-16 09:00:00") == "2026-03-16 09:00:00"
    assert integer("+7") == "7"
    for bad in ("1_000", "٣", "99999999999"):
        with pytest.raises(RowError):
            integer(bad)
