"""A 7-day backfill of library_nightly through Airflow's scheduler (LocalExecutor, PostgreSQL
metadata): one run per day, in order, one at a time, leaving the marts a rebuild from the
exports would give."""

from __future__ import annotations

import csv
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from libcrm.pipeline import run_day
from libcrm.tooling import runtime
from libcrm.tooling.simulate import simulate
from tests.airflow_services import AirflowServices

pytestmark = pytest.mark.e2e

DAG_ID = "library_nightly"
FIRST_DAY = date(2026, 3, 16)
DAYS = 7
LAST_DAY = FIRST_DAY + timedelta(days=DAYS - 1)
EXPECTED_DAYS = [FIRST_DAY + timedelta(days=n) for n in range(DAYS)]
# About a minute per night through the scheduler on two cores, plus room for a task retry.
BACKFILL_TIMEOUT_S = 25 * 60
POLL_INTERVAL_S = 10
FINISHED = {"success", "failed"}
TASK_LOG_TAIL_CHARS = 3000


@pytest.fixture(scope="module")
def metadata_url(admin_url: str):
    """Airflow's own metadata database for this module, dropped afterwards."""
    name = f"libcrm_test_airflow_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield f"{admin_url.rpartition('/')[0]}/{name}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


def _sqlalchemy_url(url: str, driver: str) -> str:
    return f"postgresql+{driver}://{url.split('://', 1)[1]}"


def _runs(metadata_url: str) -> list[tuple]:
    with psycopg.connect(metadata_url) as conn:
        return conn.execute(
            "select logical_date, data_interval_start, start_date, end_date, state, run_type "
            "from dag_run where dag_id = %s order by logical_date",
            [DAG_ID],
        ).fetchall()


def _task_spans(metadata_url: str) -> list[tuple]:
    """Per run, in logical-date order: first task start, last task end, tasks not succeeded."""
    with psycopg.connect(metadata_url) as conn:
        return conn.execute(
            "select r.logical_date, min(t.start_date), max(t.end_date), "
            "count(*) filter (where t.state is distinct from 'success') "
            "from task_instance t join dag_run r on r.dag_id = t.dag_id and r.run_id = t.run_id "
            "where t.dag_id = %s group by r.logical_date order by r.logical_date",
            [DAG_ID],
        ).fetchall()


def _diagnostics(metadata_url: str, services: AirflowServices, airflow_home: Path) -> str:
    """The scheduler log's tail and the log tails of every task that did not succeed."""
    parts = [f"scheduler log (tail):\n{services.log_tail('scheduler')}"]
    with psycopg.connect(metadata_url) as conn:
        unhappy = conn.execute(
            "select run_id, task_id, state from task_instance "
            "where dag_id = %s and state is distinct from 'success'",
            [DAG_ID],
        ).fetchall()
    for run_id, task_id, state in unhappy:
        parts.append(f"{run_id} {task_id}: {state}")
        folder = airflow_home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}"
        for log in sorted(folder.glob(f"task_id={task_id}/attempt=*.log")):
            parts.append(f"{log}:\n{log.read_text(errors='replace')[-TASK_LOG_TAIL_CHARS:]}")
    return "\n".join(parts)


def _wait_for_backfill(metadata_url: str, services: AirflowServices) -> list[tuple]:
    """Poll the metadata database until every run finished or one failed; bounded."""
    deadline = time.monotonic() + BACKFILL_TIMEOUT_S
    while True:
        runs = _runs(metadata_url)
        states = [run[4] for run in runs]
        if "failed" in states or (len(runs) == DAYS and set(states) <= FINISHED):
            return runs
        if time.monotonic() > deadline:
            raise AssertionError(
                f"backfill not finished after {BACKFILL_TIMEOUT_S} s: run states {states}"
            )
        services.check_running()
        time.sleep(POLL_INTERVAL_S)


@pytest.fixture(scope="module")
def backfill(warehouse_url, metadata_url, tmp_path_factory):
    """Simulate 7 export days and backfill them through api-server, scheduler, dag-processor."""
    work = tmp_path_factory.mktemp("backfill")
    landing = work / "landing"
    simulate(landing, work / "truth.json", scale="small", first_day=FIRST_DAY, days=DAYS)
    env = runtime.pipeline_environment(warehouse_url, landing, None)
    env.update(
        {
            "AIRFLOW_HOME": str(work / "airflow"),
            "LIBCRM_DATA_DOCS_DIR": str(work / "data_docs"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": _sqlalchemy_url(metadata_url, "psycopg2"),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": _sqlalchemy_url(metadata_url, "psycopg"),
            # The clock is past the simulated week: without this, unpausing would also start
            # the scheduled run of yesterday next to the backfill.
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
        }
    )
    services = AirflowServices(env, work / "logs")
    migrated = services.cli(["db", "migrate"], "migrate.log")
    assert migrated.returncode == 0, (work / "logs" / "migrate.log").read_text()[-3000:]
    started = time.monotonic()
    with services:
        try:
            services.wait_for_dag(DAG_ID)
            # Backfill runs of a paused DAG stay queued; new DAGs start paused.
            services.api("PATCH", f"/api/v2/dags/{DAG_ID}", {"is_paused": False})
            command = ["backfill", "create", "--dag-id", DAG_ID]
            command += ["--from-date", FIRST_DAY.isoformat(), "--to-date", LAST_DAY.isoformat()]
            # The backfill's own limit replaces the DAG's max_active_runs (Airflow's default
            # is 10): one night at a time, since each builds on the tables of the day before.
            command += ["--max-active-runs", "1"]
            created = services.cli(command, "backfill-create.log")
            assert created.returncode == 0, (work / "logs" / "backfill-create.log").read_text()
            runs = _wait_for_backfill(metadata_url, services)
        except BaseException:
            print(_diagnostics(metadata_url, services, work / "airflow"))
            raise
        diagnostics = _diagnostics(metadata_url, services, work / "airflow")
    print(f"backfill of {DAYS} days through the scheduler: {time.monotonic() - started:.0f} s")
    return {
        "runs": runs,
        "spans": _task_spans(metadata_url),
        "diagnostics": diagnostics,
        "landing": landing,
        "url": warehouse_url,
    }


def test_backfill_runs_each_day_once_and_all_succeed(backfill):
    runs = backfill["runs"]
    assert [run[4] for run in runs] == ["success"] * DAYS, backfill["diagnostics"]
    assert {run[5] for run in runs} == {"backfill"}
    assert [run_day(run[0], run[1]) for run in runs] == EXPECTED_DAYS


def test_runs_ran_in_day_order_one_at_a_time(backfill):
    runs = backfill["runs"]
    assert all(run[2] is not None and run[3] is not None for run in runs), runs
    for earlier, later in zip(runs, runs[1:], strict=False):
        assert later[2] >= earlier[3], f"run {later[0]} started before run {earlier[0]} ended"
    spans = backfill["spans"]
    assert len(spans) == DAYS and {span[3] for span in spans} == {0}, spans
    for earlier, later in zip(spans, spans[1:], strict=False):
        assert later[1] >= earlier[2], f"tasks of {later[0]} overlap tasks of {earlier[0]}"


def test_every_export_file_was_loaded_on_its_day(backfill):
    landing = backfill["landing"]
    exported = {
        (path.relative_to(landing).as_posix(), date.fromisoformat(path.parent.name))
        for path in landing.glob("*/*/*")
    }
    with psycopg.connect(backfill["url"]) as conn:
        loaded = set(
            conn.execute(
                "select file, data_date from raw.load_audit where status = 'loaded'"
            ).fetchall()
        )
        read, kept = conn.execute(
            "select sum(rows_read), sum(rows_loaded) from raw.load_audit where status = 'loaded'"
        ).fetchone()
    assert {day for _, day in exported} == set(EXPECTED_DAYS)
    assert loaded == exported
    assert kept == read


def test_each_night_evaluated_the_recommender_and_the_portal_is_the_last_nights(backfill):
    with psycopg.connect(backfill["url"]) as conn:
        evaluated = conn.execute(
            "select data_date, count(distinct model) from quality.recommender_evaluations "
            "group by data_date order by data_date"
        ).fetchall()
        generated_for = conn.execute(
            "select distinct generated_for from portal.resource_recommendations"
        ).fetchall()
    # Every candidate on a selection night, the week's choice and popularity on the others.
    assert [day for day, _ in evaluated] == list(EXPECTED_DAYS)
    assert all(models >= 2 for _, models in evaluated)
    assert generated_for == [(LAST_DAY,)]


def _latest_rows(landing: Path, file_name: str, key: str) -> dict[str, dict]:
    """The latest exported state of each record up to the last day (later day, later line)."""
    latest: dict[str, dict] = {}
    for day in EXPECTED_DAYS:
        path = landing / "ils" / day.isoformat() / file_name
        if path.exists():
            with path.open(newline="", encoding="utf-8") as handle:
                latest.update((row[key], row) for row in csv.DictReader(handle))
    return latest


def test_incremental_marts_equal_a_rebuild_from_the_exports(backfill):
    end = (LAST_DAY + timedelta(days=1)).isoformat()
    loans = [
        row
        for row in _latest_rows(backfill["landing"], "loans.csv", "loan_id").values()
        if row["checkout_at"] < end
    ]
    # Loans returned on a later night must have been closed in the earlier nights' rows.
    still_open = [row for row in loans if not row["returned_at"] or row["returned_at"] >= end]
    patrons = _latest_rows(backfill["landing"], "patrons.csv", "patron_id").values()
    registered = [row for row in patrons if row["registered_on"] <= LAST_DAY.isoformat()]
    with psycopg.connect(backfill["url"]) as conn:
        fct_loans, open_loans, distinct_loans = conn.execute(
            "select count(*), count(*) filter (where returned_at is null), "
            "count(distinct loan_id) from marts.fct_loans"
        ).fetchone()
        profiles, distinct_users = conn.execute(
            "select count(*), count(distinct user_key) from marts.user_profiles"
        ).fetchone()
    assert distinct_loans == fct_loans == len(loans)
    assert open_loans == len(still_open)
    assert distinct_users == profiles == len(registered)
