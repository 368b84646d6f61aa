"""The DAG's failure callback records a readable failure in the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import psycopg

from libcrm.operations import record_failure


def test_failure_is_recorded_with_task_day_and_error(warehouse_url, monkeypatch):
    monkeypatch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
    context = {
        "task_instance": SimpleNamespace(
            task_id="transform", dag_id="library_nightly", try_number=3
        ),
        "exception": RuntimeError("dbt build failed: model fct_loans"),
        "run_id": "scheduled__2026-03-16",
        "logical_date": datetime(2026, 3, 16, tzinfo=UTC),
        "data_interval_start": datetime(2026, 3, 16, tzinfo=UTC),
    }
    record_failure(context)
    with psycopg.connect(warehouse_url) as conn:
        row = conn.execute(
            "select task_id, data_date::text, try_number, error from quality.task_failures"
        ).fetchone()
    assert row == ("transform", "2026-03-16", 3, "dbt build failed: model fct_loans")


def test_an_unreachable_warehouse_does_not_make_the_callback_raise(monkeypatch, caplog):
    monkeypatch.setenv("LIBCRM_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    record_failure({"exception": ValueError("boom"), "run_id": "r"})
    assert "could not record the failure" in caplog.text
