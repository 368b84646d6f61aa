"""The stale-source alert of a night, from what ``quality.source_freshness`` recorded."""

from __future__ import annotations

from datetime import date

import psycopg
from psycopg.rows import dict_row

from libcrm import config
from libcrm.alerts.mail import send
from libcrm.alerts.messages import stale_alert


def notify_stale_sources(
    conn: psycopg.Connection, day: date, run_id: str, log_url: str | None = None
) -> int:
    """Send one alert naming every late or stopped source table of ``day`` not yet alerted
    and not excused by the academic calendar (:mod:`libcrm.alerts.quiet`); return how many
    tables it named (0: nothing stale, all excused, or already told)."""
    with conn.cursor(row_factory=dict_row) as cursor:
        rows = cursor.execute(
            """
            select source_name, table_name, status, newest_record, age_hours,
                   warn_after, error_after
            from quality.source_freshness
            where data_date = %s and status <> 'pass' and alerted_at is null
                and excused_because is null
            order by source_name, table_name
            """,
            [day],
        ).fetchall()
    if not rows:
        return 0
    alert = stale_alert(
        day=day, rows=rows, run_id=run_id, log_url=log_url, landing=config.landing_dir()
    )
    if send(alert):
        conn.execute(
            "update quality.source_freshness set alerted_at = now() "
            "where data_date = %s and status <> 'pass' and alerted_at is null "
            "and excused_because is null",
            [day],
        )
    return len(rows)
