"""`airflow dags test library_nightly DAY` runs the DAG's tasks for any day, and an error that
a retry cannot fix ends the run at once."""

from __future__ import annotations

import sqlite3
import time
from datetime import date

import pytest

from libcrm.tooling import runtime

pytestmark = pytest.mark.e2e

# Before 2025-09-01, the start_date the DAG once had: its runs then ran no task and "succeeded".
OLD_DAY = date(2025, 8, 1)
# The DAG's first retry comes two minutes after a failure; a run that ends sooner never retried.
RETRY_DELAY_S = 120


def test_dags_test_of_an_old_day_runs_and_a_bad_url_fails_it_at_once(tmp_path):
    env = runtime.pipeline_environment("mysql://libcrm@db/libcrm", tmp_path / "landing", None)
    env["AIRFLOW_HOME"] = str(tmp_path / "airflow")
    assert runtime.airflow(["db", "migrate"], env, tmp_path / "migrate.log").returncode == 0

    started = time.monotonic()
    log = tmp_path / "dags-test.log"
    runtime.airflow(["dags", "test", "library_nightly", OLD_DAY.isoformat()], env, log)
    elapsed = time.monotonic() - started

    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as conn:
        (run_state,) = conn.execute("select state from dag_run").fetchone()
        tasks = dict(conn.execute("select task_id, state || ' ' || try_number from task_instance"))
    text = log.read_text()
    assert run_state == "failed", text[-3000:]
    assert tasks["ingest_ils"] == "failed 1", tasks
    assert "LIBCRM_DATABASE_URL does not start with postgresql://" in text
    assert "not retried" in text
    assert elapsed < RETRY_DELAY_S
