"""The DAG's ingest_ils task reads the ILS from a FOLIO-like API on loopback when configured
to (LIBCRM_ILS_SOURCE=api), through a failing page, a 429 with Retry-After and an expired
token, and what it loads reconciles with raw.load_audit; a re-run of a day replays the landing
copy of its first pull."""

from __future__ import annotations

import logging
from datetime import timedelta

import psycopg
import pytest

from libcrm import pipeline
from libcrm.ingest import ils_api
from libcrm.tooling import runtime
from tests.test_ils_api import (  # noqa: F401
    FIRST,
    HOLDS_PATH,
    PASSWORD,
    RETRY,
    TOKEN,
    exports,
    rows,
    server,
    utc,
)

pytestmark = pytest.mark.e2e
TABLES = ("patrons", "items", "loans", "holds", "purchase_requests")


def test_ingest_ils_reads_the_folio_api_through_faults_into_raw(
    server,  # noqa: F811
    fresh_warehouse_url,
    tmp_path,
):
    library, url = server
    library.as_of(FIRST)
    library.tenant, library.accounts = "diku", {"libcrm": PASSWORD}
    library.faults = {
        ("/users", 0): ["fail"],
        ("/inventory/items", 0): ["expire"],
        (HOLDS_PATH, 0): ["busy"],
    }
    env = runtime.pipeline_environment(fresh_warehouse_url, tmp_path / "landing", None)
    env |= {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "LIBCRM_ILS_SOURCE": "api",
        "LIBCRM_ILS_API_URL": url,
        "LIBCRM_ILS_TENANT": "diku",
        "LIBCRM_ILS_USERNAME": "libcrm",
        "LIBCRM_ILS_PASSWORD": PASSWORD,
    }
    assert runtime.airflow(["db", "migrate"], env, tmp_path / "migrate.log").returncode == 0
    log = tmp_path / "ingest.log"
    done = runtime.airflow(["tasks", "test", "library_nightly", "ingest_ils", str(FIRST)], env, log)
    assert done.returncode == 0, log.read_text()[-4000:]

    assert library.requests.count(("/users", 0)) == 2  # failed, then retried
    assert library.logins == 2  # at the start, and again once the token had expired
    holds = [moment for path, offset, moment in library.times if (path, offset) == (HOLDS_PATH, 0)]
    assert len(holds) == 2 and holds[1] - holds[0] >= float(RETRY)  # waited as asked
    with psycopg.connect(fresh_warehouse_url) as conn:
        audit = dict(
            (entity, (read, loaded, quarantined))
            for entity, read, loaded, quarantined in conn.execute(
                "select entity, rows_read, rows_loaded, rows_quarantined from raw.load_audit "
                "where source = 'ils' and data_date = %s and status = 'loaded'",
                [FIRST],
            )
        )
        assert sorted(audit) == sorted(TABLES)
        for table in TABLES:
            (in_raw,) = conn.execute(
                f"select count(*) from raw.{table} r join raw.load_audit a using (batch_id) "  # noqa: S608
                "where a.entity = %s and a.data_date = %s",
                [table, FIRST],
            ).fetchone()
            read, loaded, quarantined = audit[table]
            assert read == loaded + quarantined and in_raw == loaded > 0, table
    kinds = {"patrons": "users", "items": "items", "loans": "loans", "holds": "requests"}
    for table, kind in kinds.items():
        assert audit[table][0] == len(library.records[kind]), table


def _raw_ils(url: str) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        return {
            table: sorted(
                conn.execute(f"select * from raw.{table}").fetchall(),  # noqa: S608
                key=repr,
            )
            for table in TABLES
        }


def test_a_rerun_of_a_pulled_day_replays_its_landing_copy(
    server,  # noqa: F811
    fresh_warehouse_url,
    tmp_path,
    monkeypatch,
    caplog,
):
    """Re-running an old day must load what its first run loaded: asking the API again by
    updatedDate would lose the records changed since."""
    library, url = server
    second = FIRST + timedelta(days=1)
    library.as_of(second)
    landing = tmp_path / "landing"
    for name, value in {
        "LIBCRM_DATABASE_URL": fresh_warehouse_url,
        "LIBCRM_LANDING_DIR": str(landing),
        "LIBCRM_ILS_SOURCE": "api",
        "LIBCRM_ILS_API_URL": url,
        "LIBCRM_ILS_TENANT": "diku",
        "LIBCRM_ILS_TOKEN": TOKEN,
    }.items():
        monkeypatch.setenv(name, value)
    pipeline.ingest_source("ils", FIRST)
    first_run = pipeline.ingest_source("ils", second)
    assert first_run["rows_loaded"] > 0
    loaded = _raw_ils(fresh_warehouse_url)

    # A loan of the second day is returned on the third: FOLIO moves its updatedDate on.
    changed = next(
        record
        for record in library.records["loans"].values()
        if record["metadata"]["updatedDate"].startswith(second.isoformat())
    )
    changed["metadata"]["updatedDate"] = utc(f"{second + timedelta(days=1)} 12:00:00")
    library.requests.clear()
    with caplog.at_level(logging.INFO):
        rerun = pipeline.ingest_source("ils", second)
    assert library.requests == [], "a re-run of a pulled day must not ask the API"
    assert f"ILS API for {second}: replaying the landing copy" in caplog.text
    assert rerun["pulled_from_api"] == first_run["pulled_from_api"]
    assert rerun["files_already_loaded"] == rerun["files"] == 5
    assert _raw_ils(fresh_warehouse_url) == loaded

    # The command line always asks the API: it replaces the copy the next run replays.
    loans = landing / "ils" / second.isoformat() / "loans.csv"
    assert changed["id"] in {row[0] for row in rows(loans)}
    assert ils_api.main(["--url", url, "--day", second.isoformat()]) == 0
    assert library.requests
    assert changed["id"] not in {row[0] for row in rows(loans)}
