"""Operational hooks for the DAG: record a failed task in the warehouse, readably, and tell
the engineer on duty by e-mail."""

from __future__ import annotations

import logging

from libcrm import alerts, config, db
from libcrm.config import ConfigError
from libcrm.pipeline import permanent_errors, run_day

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


def _kind(error: BaseException | None) -> str:
    """What kind of failure ``error`` is, for the alert's next steps."""
    from expectations.runner import CriticalValidationError
    from libcrm.ingest.readers import SourceFormatError

    # The DAG wraps an error a retry cannot fix in AirflowFailException, raised from it.
    cause = error.__cause__ if error is not None and error.__cause__ is not None else error
    if isinstance(cause, CriticalValidationError):
        return "validation"
    if isinstance(cause, SourceFormatError):
        return "export"
    if isinstance(cause, permanent_errors()):
        return "setting"
    return "task"


def _log_file(task_instance) -> str | None:
    """The task's log file as Airflow names it (``[logging] log_filename_template``)."""
    try:
        import jinja2
        from airflow.sdk.configuration import conf

        folder = conf.get("logging", "base_log_folder")
        template = conf.get("logging", "log_filename_template")
        name = jinja2.Template(template).render(
            ti=task_instance, try_number=task_instance.try_number
        )
    except Exception:  # noqa: BLE001 - the alert goes out without the path
        return None
    return f"{folder}/{name}"


def _landing() -> str:
    """The landing folder for the alert's next steps, or its variable when the settings that
    failed the night cannot say which folder it is."""
    try:
        return str(config.landing_dir())
    except ConfigError:
        return "$LIBCRM_LANDING_DIR"


def notify_failure(context: dict) -> None:
    """Airflow ``on_failure_callback``: e-mail what failed, for which day, where the log is and
    what to do next (libcrm.alerts). Never raises."""
    try:
        task_instance = context.get("task_instance") or context.get("ti")
        interval_start = context.get("data_interval_start")
        day = run_day(context.get("logical_date"), interval_start) if interval_start else None
        error = context.get("exception")
        alert = alerts.failure_alert(
            dag_id=getattr(task_instance, "dag_id", "library_nightly"),
            task_id=getattr(task_instance, "task_id", "unknown"),
            run_id=context.get("run_id", "unknown"),
            day=day,
            error=str(error or "unknown error")[:ERROR_CHARS],
            kind=_kind(error),
            tries=getattr(task_instance, "try_number", None),
            log_url=getattr(task_instance, "log_url", None),
            log_file=_log_file(task_instance) if task_instance is not None else None,
            landing=_landing(),
        )
    except Exception as problem:  # noqa: BLE001 - the callback reports, it must not fail
        log.error("could not write the failure alert: %s", problem)
        return
    alerts.send(alert)
