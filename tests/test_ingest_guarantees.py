"""What the loaders promise: a source's day is all or nothing, duplicates and schema drift are
handled as documented, and re-running a day leaves the same raw tables."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from libcrm import db, ingest
from libcrm.ingest import readers
from libcrm.tooling.simulate import simulate
from tests.conftest import LANDING
from tests.test_simulate import TINY

ILS_FIXTURE = LANDING / "ils" / "2026-03-16"
RAW_TABLES = (
    "patrons",
    "items",
    "loans",
    "holds",
    "purchase_requests",
    "gate_passages",
    "events",
    "event_registrations",
)
KILL_TEST_ROWS = 400_000  # enough gate rows that the COPY is still running when it is killed
COPY_STARTED_ROWS = 1_000  # kill only once this many rows went into the COPY


def put(landing: Path, source: str, day: date, name: str, content: str | bytes) -> Path:
    path = landing / source / day.isoformat() / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def patrons_csv() -> str:
    return (ILS_FIXTURE / "patrons.csv").read_text(encoding="utf-8")


def loans_csv(rows: int, header: str = "loan_id,patron_id,item_id,checkout_at,due_at,returned_at"):
    lines = [header] + [
        f"L{n},P001,I001,2026-03-01 10:00:00,2026-03-31 10:00:00," for n in range(rows)
    ]
    return "\n".join(lines) + "\n"


def rows_of_day(url: str, day: date) -> dict[str, int]:
    """Rows in each raw table that came from batches of ``day``, and the day's audit rows."""
    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(
                f"select count(*) from raw.{table} t join raw.load_audit a using (batch_id) "  # noqa: S608
                "where a.data_date = %s",
                [day],
            ).fetchone()[0]
            for table in RAW_TABLES
        }
        counts["audit"] = conn.execute(
            "select count(*) from raw.load_audit where data_date = %s and status <> 'failed'",
            [day],
        ).fetchone()[0]
    return counts


def nothing_loaded(url: str, day: date) -> bool:
    return not any(rows_of_day(url, day).values())


def test_a_crash_half_way_through_a_file_leaves_none_of_the_days_batches(
    warehouse_url, tmp_path, monkeypatch
):
    day = date(2026, 4, 1)
    put(tmp_path, "ils", day, "patrons.csv", patrons_csv())
    put(tmp_path, "ils", day, "loans.csv", loans_csv(200))
    whole = readers.CsvFile.pieces

    def half_then_crash(self, size):
        for piece in whole(self, size):
            if self.name.endswith("loans.csv"):
                rows = piece.rows() if isinstance(piece, readers.PlainBlock) else piece
                yield rows[:100]  # sent to COPY before the crash
                raise RuntimeError("the loader died half-way through loans.csv")
            yield piece

    monkeypatch.setattr(readers.CsvFile, "pieces", half_then_crash)
    with pytest.raises(RuntimeError, match="half-way"):
        ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    assert nothing_loaded(warehouse_url, day)  # patrons.csv, loaded first, was rolled back too

    monkeypatch.setattr(readers.CsvFile, "pieces", whole)
    results = ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    assert [(r.entity, r.rows_loaded) for r in results] == [("patrons", 4), ("loans", 200)]


def test_killing_the_loading_process_leaves_no_partial_batch(warehouse_url, tmp_path):
    day = date(2026, 4, 2)
    put(tmp_path, "ils", day, "patrons.csv", patrons_csv())
    ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    start = time.mktime((2026, 4, 2, 8, 0, 0, 0, 0, -1))
    lines = ["card_number,timestamp,direction,gate_id"] + [
        f"2023000001,{time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(start + n % 50000))},"
        f"{'in' if n % 2 == 0 else 'out'},G1"
        for n in range(KILL_TEST_ROWS)
    ]
    put(tmp_path, "gate", day, "gate_log.csv", "\n".join(lines) + "\n")
    script = (
        "import sys; from datetime import date; from pathlib import Path; "
        "from libcrm import ingest; day = date.fromisoformat(sys.argv[1]); "
        "ingest.ingest_source('gate', day, sys.argv[2], Path(sys.argv[3]))"
    )
    loader = subprocess.Popen(
        [sys.executable, "-c", script, day.isoformat(), warehouse_url, str(tmp_path)],
        cwd=Path(__file__).resolve().parent.parent,
    )
    copied = 0
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        deadline = time.monotonic() + 60
        while copied < COPY_STARTED_ROWS and time.monotonic() < deadline:
            assert loader.poll() is None, "the load finished before it could be killed"
            row = conn.execute(
                "select tuples_processed from pg_stat_progress_copy "
                "where relid = 'raw.gate_passages'::regclass"
            ).fetchone()
            copied = row[0] if row else 0
            time.sleep(0.01)
        os.kill(loader.pid, signal.SIGKILL)
        loader.wait()
        assert copied >= COPY_STARTED_ROWS
        while conn.execute(
            "select count(*) from pg_stat_activity "
            "where datname = current_database() and pid <> pg_backend_pid()"
        ).fetchone()[0]:
            time.sleep(0.05)  # the server aborts the dead client's transaction
    assert rows_of_day(warehouse_url, day)["gate_passages"] == 0
    with psycopg.connect(warehouse_url) as conn:
        audit = conn.execute(
            "select count(*) from raw.load_audit where source = 'gate' and data_date = %s", [day]
        ).fetchone()[0]
    assert audit == 0


def test_a_key_repeated_within_a_file_is_quarantined_with_the_first_line(warehouse_url, tmp_path):
    day = date(2026, 4, 3)
    patrons = patrons_csv().splitlines()
    doubled = patrons + [
        patrons[1].replace("Li Wei", "Li Wei (second record)"),  # same patron_id
        patrons[2].replace("P002", "P099"),  # another patron with P002's card
    ]
    put(tmp_path, "ils", day, "patrons.csv", "\n".join(doubled) + "\n")
    loans = loans_csv(2).splitlines()
    loans.append(loans[1].replace("I001", "I002"))  # L0 again, with different content
    put(tmp_path, "ils", day, "loans.csv", "\n".join(loans) + "\n")
    results = {r.entity: r for r in ingest.ingest_source("ils", day, warehouse_url, tmp_path)}
    assert (results["patrons"].rows_loaded, results["patrons"].rows_quarantined) == (4, 3)
    assert (results["loans"].rows_loaded, results["loans"].rows_quarantined) == (2, 1)
    with psycopg.connect(warehouse_url) as conn:
        reasons = dict(
            conn.execute(
                "select file || ':' || line, reason from quarantine.rejected_rows "
                "where batch_id = any(%s)",
                [[results["patrons"].batch_id, results["loans"].batch_id]],
            ).fetchall()
        )
        kept = conn.execute(
            "select item_id from raw.loans where batch_id = %s and loan_id = 'L0'",
            [results["loans"].batch_id],
        ).fetchall()
    assert reasons["ils/2026-04-03/patrons.csv:7"].startswith(
        "duplicate patron_id 'P001': already on line 2 of this file"
    )
    assert reasons["ils/2026-04-03/patrons.csv:8"].startswith(
        "duplicate barcode '2023000002': already on line 3"
    )
    assert reasons["ils/2026-04-03/loans.csv:4"].startswith("duplicate loan_id 'L0'")
    assert kept == [("I001",)]


def test_an_unknown_column_is_recorded_and_ignored(warehouse_url, tmp_path):
    day = date(2026, 4, 4)
    put(tmp_path, "ils", day, "patrons.csv", patrons_csv())
    text = loans_csv(3).splitlines()
    drifted = [text[0] + ",branch"] + [line + ",Main library" for line in text[1:]]
    put(tmp_path, "ils", day, "loans.csv", "\n".join(drifted) + "\n")
    results = {r.entity: r for r in ingest.ingest_source("ils", day, warehouse_url, tmp_path)}
    assert results["loans"].rows_loaded == 3 and results["loans"].extra_columns == ("branch",)
    with psycopg.connect(warehouse_url) as conn:
        audit = conn.execute(
            "select extra_columns, started_at <= finished_at from raw.load_audit "
            "where batch_id = %s",
            [results["loans"].batch_id],
        ).fetchone()
    assert audit == (["branch"], True)


def test_a_missing_required_column_fails_the_day_naming_file_and_column(warehouse_url, tmp_path):
    day = date(2026, 4, 5)
    put(tmp_path, "ils", day, "patrons.csv", patrons_csv())
    header = "loan_id,patron_id,item_id,due_at,returned_at"
    put(tmp_path, "ils", day, "loans.csv", header + "\nL1,P001,I001,2026-03-31 10:00:00,\n")
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    message = str(failure.value)
    assert message.startswith("ils/2026-04-05/loans.csv: required column(s) checkout_at missing")
    assert "nothing was loaded" in message
    assert nothing_loaded(warehouse_url, day)
    with psycopg.connect(warehouse_url) as conn:
        failed = conn.execute(
            "select file, rows_read, error from raw.load_audit "
            "where data_date = %s and status = 'failed'",
            [day],
        ).fetchall()
    assert failed == [("ils/2026-04-05/loans.csv", 0, message)]


def test_a_file_arriving_late_is_loaded_by_a_rerun_of_its_day(warehouse_url, tmp_path):
    day = date(2026, 4, 6)
    put(tmp_path, "ils", day, "patrons.csv", patrons_csv())
    first = ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    assert [r.entity for r in first] == ["patrons"]
    put(tmp_path, "ils", day, "loans.csv", loans_csv(5))
    again = ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    assert [(r.entity, r.skipped, r.rows_loaded) for r in again] == [
        ("patrons", True, 0),
        ("loans", False, 5),
    ]
    assert rows_of_day(warehouse_url, day)["loans"] == 5


def snapshot(url: str) -> dict[str, tuple[int, str]]:
    """Row count and an MD5 of the sorted contents of every raw table, quarantine and audit."""
    tables = [f"raw.{t}" for t in RAW_TABLES] + ["quarantine.rejected_rows", "identity.patron_keys"]
    result = {}
    with psycopg.connect(url) as conn:
        for table in tables:
            result[table] = conn.execute(
                f"select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), '')) "  # noqa: S608
                f"from {table} t"
            ).fetchone()
        result["raw.load_audit"] = conn.execute(
            "select count(*), md5(string_agg(concat_ws(',', batch_id, file, checksum, rows_read, "
            "rows_loaded, rows_quarantined, status), '|' order by batch_id)) from raw.load_audit"
        ).fetchone()
    return result


def test_running_the_same_days_again_leaves_identical_raw_tables(admin_url, tmp_path):
    # Its own database: the simulated cards would collide with the fixture patrons above.
    name = f"libcrm_test_rerun_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = admin_url.rpartition("/")[0] + "/" + name
    try:
        db.bootstrap(url)
        first = date(2026, 3, 16)
        simulate(tmp_path / "landing", tmp_path / "truth.json", scale=TINY, first_day=first, days=2)
        days = [first, first + timedelta(days=1)]
        for day in days:
            for source in ("ils", "gate", "events"):
                ingest.ingest_source(source, day, url, tmp_path / "landing")
        before = snapshot(url)
        assert before["raw.loans"][0] > 0 and before["raw.holds"][0] > 0
        for day in days:
            for source in ("ils", "gate", "events"):
                results = ingest.ingest_source(source, day, url, tmp_path / "landing")
                assert all(r.skipped for r in results)
        assert snapshot(url) == before
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
