"""The nightly stages as plain functions: the DAG wires them, tests and the CLI call them.

Each DAG task runs in its own process and imports this module: Great Expectations, the
recommender (numpy, scipy, implicit) and the report (matplotlib) are imported inside the stage
that needs them, so a task pays only for its own stage's libraries (GX alone takes seconds).
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import date, datetime

from libcrm import alerts, db, ingest, settings, transform
from libcrm.config import ConfigError
from libcrm.ingest import ils_api
from libcrm.ingest.readers import SourceFormatError
from libcrm.privacy import retention

log = logging.getLogger(__name__)
SOURCES = ("ils", "gate", "events")


def permanent_errors() -> tuple[type[Exception], ...]:
    """The failures a retry cannot fix: a setting (a missing or unreadable warehouse URL, a bad
    key), an export that cannot be read, a critical validation, an ILS API that refuses. The
    DAG fails a task raising one of them at once; any other error is retried.

    Imported when called, so that only a failing task pays for Great Expectations' import.
    """
    from expectations.runner import CriticalValidationError

    return (ConfigError, SourceFormatError, CriticalValidationError, ils_api.IlsApiRefused)


def run_day(logical_date: datetime | None, interval_start: datetime) -> date:
    """Return the day a run processes.

    Scheduled runs cover the day that just ended, which is their logical date and the start of
    their data interval. A run started for a given day (``airflow dags test library_nightly
    2026-03-16``, or a trigger with that logical date) processes that day; a run triggered "now"
    (mid-day logical date) processes the last complete day.
    """
    if logical_date is not None and logical_date.time() == datetime.min.time():
        return logical_date.date()
    return interval_start.date()


def ingest_source(source: str, data_date: date) -> dict:
    """Load the day's exports of one source; return its counts, misnamed files and warnings.

    With ``LIBCRM_ILS_SOURCE=api`` the ILS day's files are first written from the FOLIO API
    (the first day in full, then each day's changes), then loaded like exports.
    """
    db.bootstrap()
    pulled = {}
    if source == "ils" and settings.load().ils_source == "api":
        pulled = ils_api.pull_configured_day(data_date)
        log.info("ILS API for %s: %s", data_date, pulled)
    results = ingest.ingest_source(source, data_date)
    return {
        "pulled_from_api": pulled,
        "files": len(results),
        "rows_read": sum(r.rows_read for r in results),
        "rows_loaded": sum(r.rows_loaded for r in results),
        "rows_quarantined": sum(r.rows_quarantined for r in results),
        "files_already_loaded": sum(r.skipped for r in results),
        "misnamed_files": len(results.misnamed),
        "warnings": results.warnings,
    }


def validate(stage: str, data_date: date, run_id: str) -> dict:
    """Run the suites of ``stage`` (raw or marts); raise CriticalValidationError on a critical."""
    from expectations import runner, suites

    chosen = suites.raw_suites(data_date) if stage == "raw" else suites.mart_suites()
    outcome = runner.validate(stage, chosen, data_date, run_id)
    summary = outcome.summary()
    if outcome.critical_failures:
        details = "; ".join(outcome.describe(r) for r in outcome.critical_failures)
        raise runner.CriticalValidationError(
            f"{stage} validation for {data_date}: {len(outcome.critical_failures)} critical "
            f"expectation(s) failed, nothing downstream runs and the portal keeps its previous "
            f"tables: {details}. Data Docs: {outcome.docs_index}"
        )
    return summary


def build_marts(data_date: date, run_id: str = "manual", log_url: str | None = None) -> dict:
    """Check the sources' freshness, then build and test the dbt project for the day, with the
    library's vocabulary additions."""
    freshness = check_freshness(data_date, run_id, log_url)
    results = transform.build(data_date, vocabulary=ingest.vocabulary_additions())
    return {
        "nodes": len(results),
        "warnings": sum(r["status"] == "warn" for r in results),
        "freshness": freshness,
    }


def check_freshness(data_date: date, run_id: str, log_url: str | None = None) -> dict:
    """Run ``dbt source freshness`` for the day, record it in ``quality.source_freshness`` and
    e-mail one alert naming the late or stopped source tables the academic calendar does not
    excuse; return the count per status (and of the ``excused``, when any).

    A stale source does not fail the night: the marts are built from what ``raw`` holds.
    """
    rows = alerts.excuse_quiet_tables(transform.source_freshness(data_date), data_date)
    with db.connect() as conn:
        transform.record_freshness(conn, data_date, run_id, rows)
        alerts.notify_stale_sources(conn, data_date, run_id, log_url)
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["status"]] = counts.get(row["status"], 0) + 1
        if row["excused_because"]:
            counts["excused"] = counts.get("excused", 0) + 1
    log.info("source freshness for %s: %s", data_date, counts)
    return counts


def recommend(data_date: date, run_id: str) -> dict:
    """Record the night's audience members and campaign results, then evaluate, train and
    publish the portal's recommendations.

    The workspace's nightly work runs here, the first task after the marts are validated: it
    takes seconds, needs numpy and scipy as the recommender does, and leaves the DAG's tasks
    as they are.
    """
    from libcrm import crm
    from recsys import nightly

    with db.connect() as conn:
        workspace = crm.nightly(conn, data_date)
    log.info("%s", workspace)
    result = nightly.run(data_date, run_id)
    summary = asdict(result) | {"workspace": asdict(workspace)}
    summary["publication"] = _publication(data_date, result)
    log.info("%s", result.gate)
    if not result.published:
        return summary  # the publication logged why the portal was kept
    log.info(
        "published %d resource rows for %d users (%s) and %d event rows for %d users (%s)",
        result.rows_published,
        result.users_with_recommendations,
        result.model_version,
        result.activity_rows_published,
        result.users_with_activities,
        result.activity_model_version,
    )
    return summary


def _publication(data_date: date, result) -> dict:
    """What the portal publication Asset's event says: the night, and whether it is served."""
    return {
        "generated_for": data_date.isoformat(),
        "published": result.published,
        "published_at": result.published_at,
        "model_version": result.model_version,
        "kept": result.portal_kept,
    }


def apply_retention(data_date: date) -> dict:
    """Apply the retention limits once the day's marts are built and validated."""
    with db.connect() as conn:
        result = retention.apply(conn, data_date)
    return asdict(result)


def write_report(data_date: date) -> dict:
    """Write the librarians' HTML report for the day."""
    from libcrm import report

    return {"report": str(report.build(data_date))}
