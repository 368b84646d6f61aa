"""Overview: this term's readers, loans, visits, hours and attendance against last year's same
weeks, weekly trends, each source's freshness and the last night's quality status.

The numbers come from marts.activity_term_to_date and marts.activity_weekly, which dbt builds
each night per group of patrons, so a filter sums a few thousand rows."""

from __future__ import annotations

from datetime import date

import psycopg
from fastapi import APIRouter
from psycopg import sql

from libcrm.workspace import charts, filters, web
from libcrm.workspace.i18n import N_
from libcrm.workspace.i18n import gettext as _

router = APIRouter()

# Both marts are summed over the groups (department, category, cohort) the filters choose.
TERM = sql.SQL("""
select
    t.period,
    min(t.first_day) as first_day,
    min(t.last_day) as last_day,
    sum(t.active_readers)::bigint as active_readers,
    sum(t.loans)::bigint as loans,
    sum(t.visits)::bigint as visits,
    round(sum(t.library_minutes) / 60.0)::integer as library_hours,
    sum(t.event_attendance)::bigint as event_attendance
from marts.activity_term_to_date as t
where {where}
group by t.period
""")

WEEKLY = sql.SQL("""
with weeks as (
    select week::date as week_starts_on
    from generate_series(
        date_trunc('week', %(first_day)s::date), %(last_day)s::date, '7 days'
    ) as week
),

measured as (
    select
        w.week_starts_on,
        sum(w.loans)::bigint as loans,
        sum(w.visits)::bigint as visits,
        round(sum(w.library_minutes) / 60.0)::integer as library_hours,
        sum(w.event_attendance)::bigint as attendance
    from marts.activity_weekly as w
    where {where} and w.week_starts_on between %(first_day)s::date - 6 and %(last_day)s
    group by w.week_starts_on
)

select
    weeks.week_starts_on,
    coalesce(m.loans, 0) as loans,
    coalesce(m.visits, 0) as visits,
    coalesce(m.library_hours, 0) as library_hours,
    coalesce(m.attendance, 0) as attendance
from weeks
left join measured as m using (week_starts_on)
order by weeks.week_starts_on
""")
MEASURES = ("active_readers", "loans", "visits", "library_hours", "event_attendance")


def last_night(conn: psycopg.Connection) -> date | None:
    """The day of the last nightly run whose marts were validated."""
    return conn.execute("select max(data_date) from quality.validation_results").fetchone()[0]


def term_measures(conn: psycopg.Connection, chosen: filters.Filters) -> dict[str, dict]:
    """Per period (this_term, same_weeks_last_year): its first and last day and each measure;
    an empty mapping when the filtered patrons did nothing this term."""
    where, params = chosen.where("t")
    rows = conn.execute(TERM.format(where=where), params).fetchall()
    return {
        period: {"first_day": first, "last_day": last, **dict(zip(MEASURES, values, strict=True))}
        for period, first, last, *values in rows
    }


def weekly(conn: psycopg.Connection, chosen: filters.Filters, first: date, last: date) -> web.Table:
    """Loans, visits, hours and attendance per week (Monday first) from ``first`` to ``last``."""
    where, params = chosen.where("w")
    query = WEEKLY.format(where=where)
    return web.Table.of(conn.execute(query, {**params, "first_day": first, "last_day": last}))


# dbt's freshness statuses (quality.source_freshness, what the stale-source alert reads).
FRESHNESS = {
    "pass": N_("on time"),
    "warn": N_("late"),
    "error": N_("stopped"),
    "runtime error": N_("not checked"),
}
# How an excuse of libcrm/alerts/quiet.py begins; the panel says "quiet: " before the rest.
QUIET_DURING = "quiet during "


def freshness(conn: psycopg.Connection) -> web.Table:
    """Per source: the last export day loaded, when, the last failure if it came later, and
    the night's ``dbt source freshness`` (its stalest table: newest record, status). A late or
    stopped table the academic calendar excused reads as quiet, with the reason, and counts
    as staler than one on time but not as stale as one late or stopped without excuse."""
    table = web.Table.of(
        conn.execute("""
        with loads as (
            select source,
                   max(data_date) filter (where status = 'loaded') as last_day_loaded,
                   max(finished_at) filter (where status = 'loaded') as loaded_at,
                   max(data_date) filter (where status = 'failed') as last_day_failed
            from raw.load_audit
            group by source
        ),
        checked as (
            select distinct on (source_name)
                   source_name as source,
                   min(newest_record) over (partition by source_name) as newest_record,
                   status as freshness, excused_because
            from quality.source_freshness
            where data_date = (select max(data_date) from quality.source_freshness)
            order by source_name,
                     case when excused_because is not null then 1 when status = 'pass' then 0
                          when status = 'warn' then 2 else 3 end desc,
                     table_name
        )
        select loads.*, checked.newest_record, checked.freshness, checked.excused_because
        from loads
        left join checked using (source)
        order by source
    """)
    )
    table.columns.pop()  # excused_because is worded into the freshness column before it
    table.rows = [(*row, _freshness_label(status, excused)) for *row, status, excused in table.rows]
    return table


def _freshness_label(status: str | None, excused_because: str | None) -> str | None:
    if excused_because:
        return _("quiet: %(reason)s", reason=excused_because.removeprefix(QUIET_DURING))
    return _(FRESHNESS[status]) if status in FRESHNESS else status


def quality_status(conn: psycopg.Connection, night: date | None) -> web.Table:
    """The last night's validations by severity: how many ran and how many failed."""
    return web.Table.of(
        conn.execute(
            """
        select severity, count(*) as checks, count(*) filter (where not success) as failed
        from quality.validation_results
        where data_date = %s
        group by severity
        order by severity
    """,
            [night],
        )
    )


@router.get("/")
def overview(page: web.Reader):
    chosen = filters.Filters.of(page.request)
    choices = filters.choices(page.conn)
    night = last_night(page.conn)
    periods = term_measures(page.conn, chosen) if night else {}
    if "this_term" not in periods:
        zeros = web.Table(
            ["measure", "this_term", "same_weeks_last_year"], [(key, 0, 0) for key in MEASURES]
        )
        return page.render(
            "overview.html",
            night=night,
            filters=chosen,
            choices=choices,
            tables={"measures": zeros} if night else {},
        )
    now = periods["this_term"]
    before = periods.get("same_weeks_last_year") or {key: 0 for key in MEASURES}
    start = now["first_day"]
    this_year = weekly(page.conn, chosen, start, now["last_day"])
    last_year = weekly(
        page.conn,
        chosen,
        before.get("first_day") or start,
        before.get("last_day") or now["last_day"],
    )
    weeks = [_("week %(n)s", n=i + 1) for i in range(len(this_year.rows))]
    trends = {}
    for column, title in (
        ("loans", _("Loans per week")),
        ("visits", _("Visits per week")),
        ("library_hours", _("Library hours per week")),
        ("attendance", _("Event attendance per week")),
    ):
        index = this_year.columns.index(column)
        series = {_("this term"): [row[index] for row in this_year.rows]}
        if any(before[key] for key in MEASURES):  # no line of zeros before the data begins
            series[_("same weeks last year")] = [row[index] for row in last_year.rows]
        trends[title] = charts.lines(weeks, series)
    cards = [(key, now[key], before[key]) for key in MEASURES]
    comparison = web.Table(["measure", "this_term", "same_weeks_last_year"], cards)
    fresh = freshness(page.conn)
    return page.render(
        "overview.html",
        night=night,
        term_start=start,
        filters=chosen,
        choices=choices,
        cards=cards,
        trends=trends,
        freshness=fresh,
        quality=quality_status(page.conn, night),
        tables={"measures": comparison, "weekly": this_year, "freshness": fresh},
    )
