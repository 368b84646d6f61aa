"""Members of audiences and campaigns counted per group of patrons when they change, so that
the workspace's lists sum a few rows under any filter instead of counting every member.

A group is the department, patron category and cohort (``enrolled_year``) of
``marts.dim_users``, the three columns the workspace filters on; each member is in one
group, so the counts add up over any groups a filter chooses. Members unknown to
``dim_users`` are not counted, as the lists never showed them.
"""

from __future__ import annotations

from datetime import date

import psycopg


def record_audience(conn: psycopg.Connection, audience_id: int, night: date) -> None:
    """Count the members recorded for ``audience_id`` and ``night`` per group (replacing
    that night's counts: running a night again gives the same rows)."""
    conn.execute(
        "delete from workspace.audience_counts where audience_id = %s and night = %s",
        [audience_id, night],
    )
    conn.execute(
        """
        insert into workspace.audience_counts
            (audience_id, night, department, category, enrolled_year, members)
        select m.audience_id, m.night, u.department, u.category, u.enrolled_year, count(*)
        from workspace.audience_members as m
        inner join marts.dim_users as u on m.user_key = u.user_key
        where m.audience_id = %s and m.night = %s
        group by m.audience_id, m.night, u.department, u.category, u.enrolled_year
        """,
        [audience_id, night],
    )


def record_campaign(conn: psycopg.Connection, campaign_id: int) -> None:
    """Count a launched campaign's contacted and control members per group, by the groups
    the marts hold now (replacing the campaign's counts)."""
    conn.execute("delete from workspace.campaign_sizes where campaign_id = %s", [campaign_id])
    conn.execute(
        """
        insert into workspace.campaign_sizes
            (campaign_id, department, category, enrolled_year, contacted, control)
        select m.campaign_id, u.department, u.category, u.enrolled_year,
            count(*) filter (where not m.in_control), count(*) filter (where m.in_control)
        from workspace.campaign_members as m
        inner join marts.dim_users as u on m.user_key = u.user_key
        where m.campaign_id = %s
        group by m.campaign_id, u.department, u.category, u.enrolled_year
        """,
        [campaign_id],
    )


def refresh_campaigns(conn: psycopg.Connection) -> int:
    """Count every launched campaign's members again by tonight's groups (a reader may have
    changed department or left the marts); return how many campaigns were counted."""
    with conn.transaction():
        launched = conn.execute(
            "select campaign_id from workspace.campaigns where status <> 'draft'"
            " order by campaign_id"
        ).fetchall()
        for (campaign_id,) in launched:
            record_campaign(conn, campaign_id)
    return len(launched)
