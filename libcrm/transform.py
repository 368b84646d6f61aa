"""Run the dbt project in-process against the warehouse, for one day."""

from __future__ import annotations

import json
import os
from contextlib import contextmanager
from datetime import date, timedelta

import psycopg

from libcrm import config, db


class TransformError(RuntimeError):
    """dbt reported a failed model or test; the message lists them."""


def dbt_environment(url: str) -> dict[str, str]:
    """The variables ``profiles.yml`` reads, for the server that ``url`` reaches.

    dbt connects through a driver of its own, so rather than reading the URL a second way it is
    given what libpq resolved when connecting with it: the socket directory of a URL without a
    host (``postgresql:///libcrm``, ``?host=/tmp``), the default port and user, a password from
    ``~/.pgpass``, and the URL's ``sslmode``.
    """
    config.check_database_url(url)
    with db.connect(url) as conn:
        info = conn.info
        return {
            "LIBCRM_DB_HOST": info.host,
            "LIBCRM_DB_PORT": str(info.port),
            "LIBCRM_DB_USER": info.user,
            "LIBCRM_DB_PASSWORD": info.password or "",
            "LIBCRM_DB_NAME": info.dbname,
            "LIBCRM_DB_SSLMODE": info.get_parameters().get("sslmode", "prefer"),
        }


@contextmanager
def _environment(values: dict[str, str]):
    # dbt's profile reads env_var() from this process's environment: set the values for the
    # build and put back what was there before (a write for dbt, not a libcrm setting).
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _invoke(args: list[str], url: str | None):
    """Run one dbt command in this process; return dbt's outcome, or raise when it cannot run."""
    from dbt.cli.main import dbtRunner

    project = config.dbt_project_dir()
    env = dbt_environment(url or config.database_url())
    common = ["--project-dir", str(project), "--profiles-dir", str(project)]
    with _environment(env):
        outcome = dbtRunner().invoke([*args, *common])
    if outcome.exception is not None:
        raise TransformError(f"dbt {' '.join(args)} could not run: {outcome.exception}")
    return outcome


def run_dbt(args: list[str], url: str | None = None) -> list[dict]:
    """Run one dbt command in this process; return its node results or raise TransformError."""
    outcome = _invoke(args, url)
    results = [
        {"node": r.node.unique_id, "status": str(r.status), "message": r.message}
        # build/run/test return node results; docs generate returns a catalog with none
        for r in getattr(outcome.result, "results", None) or []
    ]
    failed = [r for r in results if r["status"] in ("error", "fail")]
    if failed or not outcome.success:
        details = "\n".join(f"  {r['node']}: {r['status']} {r['message'] or ''}" for r in failed)
        raise TransformError(f"dbt {args[0]} failed:\n{details}")
    return results


def build(
    data_date: date, url: str | None = None, vocabulary: dict[str, list[str]] | None = None
) -> list[dict]:
    """Build and test every model for the run's day (``dbt build --vars as_of``).

    ``vocabulary`` holds the codes the library adds to open vocabularies, by kind
    (``libcrm.ingest.vocabulary_additions``): dbt's vocabulary tests accept them too.
    """
    variables = {"as_of": data_date.isoformat(), "vocabulary_additions": vocabulary or {}}
    return run_dbt(["build", "--vars", json.dumps(variables)], url)


def source_freshness(data_date: date, url: str | None = None) -> list[dict]:
    """Run ``dbt source freshness`` for the day; return one dict per checked source table.

    Freshness is measured at the end of ``data_date`` (the project's ``collect_freshness``
    override), so it does not depend on when the night runs. A late (warn) or stopped (error)
    source is a result, not a failure: the night goes on with what ``raw`` holds. Each dict
    also holds the table's ``allowed_lag_hours`` (its ``warn_after``) and the kinds of calendar
    period it is ``quiet_during`` (its ``config.meta``), for :mod:`libcrm.alerts.quiet`.
    """
    variables = {"as_of": data_date.isoformat()}
    outcome = _invoke(["source", "freshness", "--vars", json.dumps(variables)], url)
    rows = []
    for result in getattr(outcome.result, "results", None) or []:
        if result.node.resource_type != "source":
            continue  # the project's on-run-start hook
        criteria = result.node.freshness
        newest = getattr(result, "max_loaded_at", None)
        age = getattr(result, "age", None)
        # dbt reports a table with no row at all as loaded in the year 1.
        known = newest is not None and newest.year > 1
        rows.append(
            {
                "source_name": result.node.source_name,
                "table_name": result.node.name,
                "status": str(result.status),
                "newest_record": _local(newest) if known else None,
                "age_hours": age / 3600 if known and age is not None else None,
                "warn_after": _period(criteria.warn_after) if criteria else None,
                "error_after": _period(criteria.error_after) if criteria else None,
                "allowed_lag_hours": _hours(criteria.warn_after or criteria.error_after)
                if criteria
                else None,
                "quiet_during": tuple(result.node.config.meta.get("quiet_during", ())),
            }
        )
    return rows


def _local(moment):
    # The raw event times are the library's local times without a zone; dbt read them as UTC.
    return moment.replace(tzinfo=None)


def _period(threshold) -> str | None:
    if threshold is None or threshold.count is None:
        return None
    return f"{threshold.count} {threshold.period}"


def _hours(threshold) -> float | None:
    if not threshold:
        return None
    return timedelta(**{threshold.period.plural(): threshold.count}).total_seconds() / 3600


def record_freshness(
    conn: psycopg.Connection, data_date: date, run_id: str, rows: list[dict]
) -> None:
    """Store the day's freshness in ``quality.source_freshness`` (a re-run replaces it; an alert
    already sent for the same status is remembered, so a re-run does not send it again), with
    the reason a stale table is excused from the alert (``excused_because``, else null)."""
    for row in rows:
        conn.execute(
            """
            insert into quality.source_freshness (data_date, source_name, table_name, status,
                newest_record, measured_at, age_hours, warn_after, error_after, run_id,
                excused_because)
            values (%(day)s, %(source_name)s, %(table_name)s, %(status)s, %(newest_record)s,
                %(day)s::date + 1, %(age_hours)s, %(warn_after)s, %(error_after)s, %(run_id)s,
                %(excused_because)s)
            on conflict (data_date, source_name, table_name) do update set
                status = excluded.status, newest_record = excluded.newest_record,
                age_hours = excluded.age_hours, warn_after = excluded.warn_after,
                error_after = excluded.error_after, run_id = excluded.run_id,
                excused_because = excluded.excused_because, checked_at = now(),
                alerted_at = case when quality.source_freshness.status = excluded.status
                    then quality.source_freshness.alerted_at end
            """,
            {"excused_because": None, **row, "day": data_date, "run_id": run_id},
        )
