"""The run summary printed at the end of ``make demo``: what each layer holds and how it went."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from psycopg import sql

from libcrm import db

LAYERS = {
    "raw": [
        "raw.patrons",
        "raw.items",
        "raw.loans",
        "raw.holds",
        "raw.purchase_requests",
        "raw.gate_passages",
        "raw.events",
        "raw.event_registrations",
    ],
    "quarantine": ["quarantine.rejected_rows"],
    "marts": [
        "marts.dim_users",
        "marts.dim_items",
        "marts.dim_events",
        "marts.fct_loans",
        "marts.fct_holds",
        "marts.fct_purchase_requests",
        "marts.fct_visits",
        "marts.fct_event_attendance",
        "marts.user_profiles",
        "marts.opinion_leaders",
        "marts.leaderboard_quarterly",
    ],
    "snapshots": ["snapshots.user_segments_snapshot"],
    "portal": ["portal.resource_recommendations", "portal.activity_recommendations"],
}
ENDED_TASK = re.compile(r"end task task_id=(\w+)")
RUN_STATE = re.compile(r"DagRun Finished: .*? state=(\w+)")


def task_states(log_file: Path) -> str:
    """One line from an ``airflow dags test`` log: the tasks that ended and the run's state."""
    text = log_file.read_text(errors="replace")
    ended = ENDED_TASK.findall(text)
    state = RUN_STATE.findall(text)
    return f"{' > '.join(ended) or 'no task ended'}: {state[-1] if state else 'failed'}"


def failure_excerpt(log_file: Path, lines: int = 40) -> str:
    """The error lines of a failed run's log, to print instead of the whole log."""
    text = log_file.read_text(errors="replace").splitlines()
    errors = [line for line in text if "error" in line.lower() or "Traceback" in line]
    return "\n".join((errors or text)[-lines:])


def _latest_run(conn, table: str, stamp: str, day: date) -> str | None:
    """The id of the last run that recorded results for ``day`` in ``table``."""
    query = sql.SQL("select run_id from {} where data_date = %s order by {} desc limit 1").format(
        sql.Identifier(*table.split(".")), sql.Identifier(stamp)
    )
    found = conn.execute(query, [day]).fetchone()
    return found[0] if found else None


def _rows(conn, tables: list[str]) -> str:
    return ", ".join(f"{table.split('.')[1]} {db.count_rows(conn, table):,}" for table in tables)


def report(
    url: str, last_day: date, shown_url: str, env_file: Path, truth: Path | None = None
) -> str:
    """The summary text for the warehouse at ``url`` after the run for ``last_day``; with the
    demo campaign's result against the effect planted in ``truth`` when there is one."""
    from expectations.runner import data_docs_dir
    from libcrm.report import reports_dir
    from libcrm.tooling import demo_campaign

    with db.connect(url) as conn:
        lines = ["libcrm demo summary", "-------------------"]
        lines += [f"rows in {layer:<10} {_rows(conn, tables)}" for layer, tables in LAYERS.items()]
        audit = conn.execute(
            "select count(*), coalesce(sum(rows_read), 0), coalesce(sum(rows_loaded), 0), "
            "coalesce(sum(rows_quarantined), 0) from raw.load_audit where status = 'loaded'"
        ).fetchone()
        lines.append(
            f"loads      {audit[0]} files: {audit[1]:,} rows read = {audit[2]:,} loaded + "
            f"{audit[3]:,} quarantined"
        )
        checks = conn.execute(
            "select count(*), count(*) filter (where not success and severity = 'critical'), "
            "count(*) filter (where not success and severity = 'warning') "
            "from quality.validation_results where run_id = %s",
            [_latest_run(conn, "quality.validation_results", "validated_at", last_day)],
        ).fetchone()
        lines.append(
            f"quality    {checks[0]} expectations checked for {last_day}: "
            f"{checks[1]} critical failures, {checks[2]} warnings"
        )
        segments = conn.execute(
            "select value_segment, count(*) from marts.user_profiles group by 1 order by 2 desc"
        ).fetchall()
        lines.append("segments   " + ", ".join(f"{name} {count:,}" for name, count in segments))
        metrics = conn.execute(
            "select model, hit_rate_at_10, precision_at_10, ndcg_at_10, coverage, published, "
            "users_evaluated from quality.recommender_evaluations where run_id = %s "
            "order by model",
            [_latest_run(conn, "quality.recommender_evaluations", "evaluated_at", last_day)],
        ).fetchall()
        for model, hit, precision, ndcg, coverage, published, users in metrics:
            flag = "  <- published" if published else ""
            lines.append(
                f"recsys     {model:<10} HR@10 {hit:.3f}  P@10 {precision:.3f}  "
                f"nDCG@10 {ndcg:.3f}  coverage {coverage:.3f}  ({users} users held out){flag}"
            )
        served, patrons = conn.execute(
            "select (select count(distinct patron_id) from portal.resource_recommendations), "
            "(select count(*) from marts.dim_users)"
        ).fetchone()
        invited = conn.execute(
            "select count(distinct patron_id) from portal.activity_recommendations"
        ).fetchone()[0]
        lines.append(
            f"portal     {served:,} of {patrons:,} patrons have book recommendations "
            f"({served / max(patrons, 1):.0%}), {invited:,} have event recommendations"
        )
        campaign = None if truth is None else demo_campaign.result_line(conn, truth)
        if campaign:
            lines.append(campaign)
    lines += [
        f"data docs  {data_docs_dir() / 'index.html'}",
        f"report     {reports_dir() / last_day.isoformat() / 'index.html'}",
        f'warehouse  {shown_url}  (psql "$(cat .local/database_url)")',
        f"airflow    . {env_file} && .venv/bin/airflow dags test library_nightly <YYYY-MM-DD>",
    ]
    return "\n".join(lines)
