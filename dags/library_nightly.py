"""
# library_nightly

One run per day; the data interval is that day. Stages, in order:

1. **ingest** the day's ILS, gate and event exports from the landing folder into `raw`
   (rejected rows go to `quarantine.rejected_rows`, counts to `raw.load_audit`);
2. **validate raw** with Great Expectations: a critical failure stops the run here;
3. **transform**: `dbt source freshness` (recorded in `quality.source_freshness`; a late or
   stopped source is e-mailed to `LIBCRM_ALERT_TO` unless the academic calendar excuses it),
   then `dbt build` of staging and marts;
4. **validate marts**: a critical failure stops the run before anything is published;
5. **recommend**: record the members of the workspace's audiences for the night and measure
   the launched campaigns (libcrm.crm); evaluate ALS against popularity, train, and publish
   `portal.resource_recommendations` and `portal.activity_recommendations` in one transaction,
   with the night's row of `portal.publication`, and update the Asset `portal_publication`;
   alongside, **apply retention**: old circulation records lose their patron link and old
   gate passages are deleted (docs/privacy.md);
6. **report**: the librarians' HTML report of the night (segments, leaderboards, opinion
   leaders, events, quality, recommendation metrics and uptake).

The warehouse is `LIBCRM_DATABASE_URL`; the landing folder `LIBCRM_LANDING_DIR`. Any day can
be run (no start_date). Transient failures are retried; a configuration error, an unreadable
export or a critical validation fails its task at once. A task that fails for good is
recorded in `quality.task_failures` and e-mailed (what, which day, where the log is, what to
do next) when `LIBCRM_ALERT_TO` is set.
"""

from __future__ import annotations

import functools
from datetime import timedelta

from airflow.sdk import Asset, dag, get_current_context, task
from airflow.timetables.interval import CronDataIntervalTimetable

# Updated when recommend publishes a night to the portal: `portal.publication` has its row.
# The event's extra says which night, when, and whether it was published (a re-run of a night
# older than the one served publishes nothing).
PORTAL_PUBLICATION = Asset(uri="libcrm://warehouse/portal/publication", name="portal_publication")


def _record_failure(context):
    from libcrm.operations import record_failure

    record_failure(context)


def _notify_failure(context):
    from libcrm.operations import notify_failure

    notify_failure(context)


DEFAULT_ARGS = {
    "owner": "libcrm",
    # Database and file I/O fail transiently; what a retry cannot fix (a setting, an unreadable
    # export, a critical validation: libcrm.pipeline.permanent_errors) fails at once, through
    # nightly_task.
    "retries": 2,
    "retry_delay": timedelta(minutes=2),
    "retry_exponential_backoff": True,
    "max_retry_delay": timedelta(minutes=20),
    "execution_timeout": timedelta(hours=1),
    # A task that failed for good is recorded in quality.task_failures and e-mailed to
    # LIBCRM_ALERT_TO (libcrm.alerts); retries are not (on_retry_callback is unset).
    "on_failure_callback": [_record_failure, _notify_failure],
}


def nightly_task(function=None, **task_arguments):
    """``@task``, except that an error a retry cannot fix fails the task at once."""
    if function is None:
        return functools.partial(nightly_task, **task_arguments)

    @functools.wraps(function)
    def run(*args, **kwargs):
        from airflow.sdk.exceptions import AirflowFailException

        from libcrm.pipeline import permanent_errors

        try:
            return function(*args, **kwargs)
        except permanent_errors() as error:
            raise AirflowFailException(f"{error} (not retried: a retry cannot fix this)") from error

    return task(**task_arguments)(run)


def _data_date():
    from libcrm.pipeline import run_day

    context = get_current_context()
    day = run_day(context["logical_date"], context["data_interval_start"])
    return day, context["run_id"]


@nightly_task
def ingest(source: str) -> dict:
    """Load the day's exports of one source into `raw`; a malformed file fails without retry."""
    from libcrm import pipeline

    data_date, _ = _data_date()
    return pipeline.ingest_source(source, data_date)


@nightly_task
def validate(stage: str) -> dict:
    """Validate a layer; a critical failure fails the task without retrying."""
    from libcrm import pipeline

    data_date, run_id = _data_date()
    return pipeline.validate(stage, data_date, run_id)


@nightly_task
def transform() -> dict:
    """Check the sources' freshness (a stale one is e-mailed), then build and test the dbt
    models for the day."""
    from libcrm import pipeline

    data_date, run_id = _data_date()
    log_url = getattr(get_current_context().get("ti"), "log_url", None)
    return pipeline.build_marts(data_date, run_id, log_url)


@nightly_task(outlets=[PORTAL_PUBLICATION])
def recommend() -> dict:
    """Evaluate, train and publish the portal's recommendations; announce the publication."""
    from libcrm import pipeline

    data_date, run_id = _data_date()
    summary = pipeline.recommend(data_date, run_id)
    get_current_context()["outlet_events"][PORTAL_PUBLICATION].extra = summary["publication"]
    return summary


@nightly_task
def apply_retention() -> dict:
    """Detach old loans, holds and requests from patrons; delete old gate passages."""
    from libcrm import pipeline

    data_date, _ = _data_date()
    return pipeline.apply_retention(data_date)


@nightly_task
def report() -> dict:
    """Write the night's HTML report for librarians (no personal data)."""
    from libcrm import pipeline

    data_date, _ = _data_date()
    return pipeline.write_report(data_date)


@dag(
    dag_id="library_nightly",
    # One run per day, after midnight, whose data interval is the day that just ended.
    schedule=CronDataIntervalTimetable("@daily", timezone="UTC"),
    # No start_date: Airflow would silently skip every task of a run for a day before it (`dags
    # test` of an older export "succeeds" having done nothing). Without one, any day can be run,
    # tested or backfilled, and catchup=False keeps unpausing from queueing the past.
    catchup=False,
    # Nights run in order (incremental marts build on the previous night), and two tasks at a
    # time at most: the reference machine has two cores.
    max_active_runs=1,
    max_active_tasks=2,
    default_args=DEFAULT_ARGS,
    tags=["libcrm", "nightly"],
    doc_md=__doc__,
)
def library_nightly():
    ils = ingest.override(task_id="ingest_ils")("ils")
    gate = ingest.override(task_id="ingest_gate")("gate")
    events = ingest.override(task_id="ingest_events")("events")
    raw_checked = validate.override(task_id="validate_raw")("raw")
    marts_checked = validate.override(task_id="validate_marts")("marts")
    # Gate and event rows name patrons by card: the ILS patrons must be loaded first.
    ils >> [gate, events] >> raw_checked >> transform() >> marts_checked
    marts_checked >> [recommend(), apply_retention()] >> report()


library_nightly()
