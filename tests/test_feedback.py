"""The portal's reports taken in each night: moved into recsys by user_key, deleted from
portal, readers who opted out or left dropped, old impressions forgotten."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import psycopg

from recsys import feedback
from recsys.publish import LOG_RETENTION_DAYS

NIGHT = date(2026, 3, 18)
ELIGIBLE = {"k1": "P1", "k2": "P2"}  # user_key -> patron_id; P9 opted out


def test_reports_move_to_recsys_by_user_key_and_leave_portal(fresh_warehouse_url):
    shown = datetime(2026, 3, 18, 9, 30).astimezone()
    with psycopg.connect(fresh_warehouse_url) as conn:
        conn.execute(
            "insert into recsys.impressions values ('resource', 'k1', 'I-old', %s)",
            [shown - timedelta(days=LOG_RETENTION_DAYS + 1)],
        )
        for patron, kind, target in (
            ("P1", "books", "I1"),
            ("P2", "events", "E1"),
            ("P9", "books", "I2"),
        ):
            conn.execute(
                "insert into portal.impressions (patron_id, kind, target_id, shown_at)"
                " values (%s, %s, %s, %s)",
                [patron, kind, target, shown],
            )
            conn.execute(
                "insert into portal.dismissals (patron_id, kind, target_id, dismissed_at)"
                " values (%s, %s, %s, %s)",
                [patron, kind, target, shown],
            )
        intake = feedback.take_in(conn, ELIGIBLE, NIGHT)
        conn.commit()
        impressions = conn.execute(
            "select kind, user_key, target_id from recsys.impressions order by 1, 2"
        ).fetchall()
        left = conn.execute(
            "select (select count(*) from portal.impressions),"
            " (select count(*) from portal.dismissals)"
        ).fetchone()
        assert feedback.dismissed(conn, "resource") == {"k1": {"I1"}}
        assert feedback.dismissed(conn, "activity") == {"k2": {"E1"}}
    assert intake == feedback.Intake(impressions=2, dismissals=2, dropped=2)
    assert impressions == [("activity", "k2", "E1"), ("resource", "k1", "I1")]
    assert left == (0, 0)
