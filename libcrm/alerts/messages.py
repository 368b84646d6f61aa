"""What each alert says: what failed, for which day, where the log is and what to do next.

An alert is plain data (:class:`Alert`) rendered by ``libcrm/templates/alert.html``; the
builders here know nothing about Airflow or SMTP, so each message is tested on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import jinja2

SUBJECT_PREFIX = "[libcrm]"
# Dbt's freshness statuses in the engineer's words.
FRESHNESS_WORDS = {
    "warn": "late",
    "error": "stopped",
    "runtime error": "could not be checked",
}
# What to do about a failed task, by the kind of its error (libcrm.operations decides the kind).
NEXT_STEPS = {
    "setting": (
        "A setting is missing or wrong (the error names it). Fix it where the scheduler gets "
        "its environment (deploy/libcrm.env, or the environment of `airflow dags test`); a "
        "retry cannot fix it, so the task was not retried.",
    ),
    "export": (
        "An export in the landing folder cannot be read (the error names the file and line). "
        "Ask for a corrected export, or fix LIBCRM_EXPORT_MAPPING if the library changed its "
        "format, and put the file in {landing}/<source>/{day}/: a re-delivered file replaces "
        "its batch.",
    ),
    "validation": (
        "A critical expectation failed (listed above); nothing downstream ran and the portal "
        "keeps the previous night's tables. Open the Data Docs named in the error, and the "
        "failed checks with: select suite, expectation, observed_value from "
        "quality.validation_results where data_date = '{day}' and not success.",
        "If the data is wrong, correct it at the source and re-deliver the export; if the "
        "data is right and the expectation is not, change the suite in expectations/.",
    ),
    "task": (
        "The task failed after {tries} tries. Read the log for the traceback; a transient "
        "cause (the warehouse unreachable, a full disk) is fixed by the re-run below once it "
        "is gone.",
    ),
}


@dataclass(frozen=True)
class Alert:
    """One e-mail: a subject, one paragraph of what happened, facts, details and next steps."""

    subject: str
    summary: str
    facts: tuple[tuple[str, str], ...]
    details: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()

    def html(self) -> str:
        """The e-mail body (HTML; every value escaped)."""
        environment = jinja2.Environment(
            loader=jinja2.PackageLoader("libcrm", "templates"), autoescape=True
        )
        return environment.get_template("alert.html").render(alert=self)


def _rerun(dag_id: str, task_id: str, run_id: str, day: date | None) -> str:
    return (
        f"Then re-run: clear {task_id} of run {run_id} in the Airflow UI (the tasks after it "
        f"run again), or `airflow dags test {dag_id} {day}`."
    )


def failure_alert(
    *,
    dag_id: str,
    task_id: str,
    run_id: str,
    day: date | None,
    error: str,
    kind: str,
    tries: int | None,
    log_url: str | None,
    log_file: str | None,
    landing: Path | str,
) -> Alert:
    """The alert for a task that failed for good (after its retries, or at once)."""
    what = "critical validation" if kind == "validation" else f"{kind} error"
    if kind == "task":
        what = "task failed"
    steps = [s.format(landing=landing, day=day, tries=tries) for s in NEXT_STEPS[kind]]
    return Alert(
        subject=f"{SUBJECT_PREFIX} {dag_id} failed for {day}: {task_id} ({what})",
        summary=(
            f"The nightly run of {day} stopped at {task_id}: the tasks after it did not run "
            "and the portal keeps serving the previous night's recommendations."
        ),
        facts=_present(
            ("DAG", dag_id),
            ("data day", str(day)),
            ("task", task_id),
            ("run", run_id),
            ("tries", str(tries) if tries else None),
            ("log in the Airflow UI", log_url),
            ("log file (on the scheduler)", log_file),
        ),
        details=tuple(line for line in error.splitlines() if line.strip()),
        next_steps=(*steps, _rerun(dag_id, task_id, run_id, day)),
    )


def stale_alert(
    *, day: date, rows: list[dict], run_id: str, log_url: str | None, landing: Path
) -> Alert:
    """The alert for the source tables whose newest record is too old at the end of ``day``."""
    names = ", ".join(f"{r['source_name']}.{r['table_name']}" for r in rows)
    details = tuple(_stale_line(row) for row in rows)
    sources = sorted({row["source_name"] for row in rows})
    return Alert(
        subject=f"{SUBJECT_PREFIX} stale source for {day}: {names}",
        summary=(
            f"At the end of {day}, {len(rows)} source table(s) had nothing new for longer than "
            "their freshness allows (dbt_project/models/staging/_sources.yml). The night went "
            "on: marts and recommendations were built from what raw holds, without the "
            "missing days."
        ),
        facts=_present(
            ("data day", str(day)),
            ("run", run_id),
            ("checked by", "dbt source freshness, in the transform task"),
            ("log in the Airflow UI", log_url),
            ("recorded in", f"quality.source_freshness (data_date = '{day}')"),
        ),
        details=details,
        next_steps=(
            "Check that each source's nightly export ran and reached the landing folder: "
            + ", ".join(f"{landing}/{source}/{day}/" for source in sources)
            + " (for the ILS read from its API, that the API answers).",
            "Once the missing exports have landed, run each missing day in order, e.g. "
            f"`airflow dags test library_nightly {day}`: the freshness check runs again and "
            "this alert is not repeated.",
        ),
    )


def _stale_line(row: dict) -> str:
    state = FRESHNESS_WORDS.get(row["status"], row["status"])
    newest = row.get("newest_record")
    age = row.get("age_hours")
    seen = f"newest record {newest:%Y-%m-%d %H:%M}" if newest else "no record at all"
    late = f", {age / 24:.1f} days before the day's end" if age is not None else ""
    limits = f" (late after {row.get('warn_after')}, stopped after {row.get('error_after')})"
    return f"{row['source_name']}.{row['table_name']}: {state}: {seen}{late}{limits}"


def _present(*facts: tuple[str, str | None]) -> tuple[tuple[str, str], ...]:
    return tuple((label, value) for label, value in facts if value)
