"""Operational hooks for the DAG: record a failed task in the warehouse, readably."""

from __future__ import annotations

import logging

from libcrm import db
from libcrm.pipeline import run_day

log = logging.getLogger(__name__)
# Enough of an error to act on; the full traceback stays in the task log.
ERROR_CHARS = 2000


def record_failure(context: dict) -> None:
    """Airflow ``on_failure_callback``: log one readable line and store it in quality.task_failures.

    A callback must never raise: if the warehouse itself is down, the line is only logged.
    """
    task_instance = context.get("task_instance") or context.get("ti")
    task_id = getattr(task_instance, "task_id", "unknown")
    error = str(context.get("exception") or "unknown error")[:ERROR_CHARS]
    interval_start = context.get("data_interval_start")
    logical = context.get("logical_date")
    day = run_day(logical, interval_start) if interval_start else None
    log.error("library_nightly %s failed for %s: %s", task_id, day, error)
    try:
        with db.connect() as conn:
            db.bootstrap_operations(conn)
            conn.execute(
                "insert into quality.task_failures "
                "(dag_id, run_id, task_id, data_date, try_number, error) "
                "values (%s, %s, %s, %s, %s, %s)",
                [
                    getattr(task_instance, "dag_id", "library_nightly"),
                    context.get("run_id", "unknown"),
                    task_id,
                    day,
                    getattr(task_instance, "try_number", None),
                    error,
                ],
            )
    except Exception as problem:  # noqa: BLE001 - the callback reports, it must not fail
        log.error("could not record the failure of %s in the warehouse: %s", task_id, problem)
