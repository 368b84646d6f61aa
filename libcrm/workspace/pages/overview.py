"""Overview: this term's readers, loans, visits, hours and attendance against last year's same
weeks, weekly trends, each source's freshness and the last night's quality status."""

from __future__ import annotations

from datetime import date, timedelta

import psycopg
from fastapi import APIRouter
from psycopg import sql

from libcrm.workspace import charts, filters, web
from libcrm.workspace.i18n import gettext as _

router = APIRouter()

# The first days of the two terms of a Chinese university year (month, day), until the academic
# calendar of the library is configured: the spring term starts late February, the autumn term
# early September.
TERM_STARTS = ((2, 20), (9, 1))
# The same weeks of the previous year: 52 weeks back, so weekdays line up.
YEAR_BEFORE = timedelta(weeks=52)

MEASURES = sql.SQL("""
with users as (
    select u.user_key from marts.dim_users as u where {where}
),
loans as (
    select l.user_key from marts.fct_loans as l join users using (user_key)
    where l.checkout_date between %(start)s and %(end)s
),
visits as (
    select v.user_key, v.dwell_minutes from marts.fct_visits as v join users using (user_key)
    where v.visit_date between %(start)s and %(end)s
),
attended as (
    select a.user_key from marts.fct_event_attendance as a join users using (user_key)
    where a.attended and a.starts_at::date between %(start)s and %(end)s
)
select
    (select count(distinct user_key) from (
        select user_key from loans union select user_key from visits
        union select user_key from attended) as active) as active_readers,
    (select count(*) from loans) as loans,
    (select count(*) from visits) as visits,
    (select round(coalesce(sum(dwell_minutes), 0) / 60.0)::integer from visits) as library_hours,
    (select count(*) from attended) as event_attendance
""")

WEEKLY = sql.SQL("""
with users as (
    select u.user_key from marts.dim_users as u where {where}
),
weeks as (
    select week::date as week
    from generate_series(%(start)s::date, %(end)s::date, '7 days') as week
),
loans as (
    select (l.checkout_date - %(start)s::date) / 7 as n, count(*) as loans
    from marts.fct_loans as l join users using (user_key)
    where l.checkout_date between %(start)s and %(end)s
    group by 1
),
visits as (
    select
        (v.visit_date - %(start)s::date) / 7 as n,
        count(*) as visits,
        round(sum(v.dwell_minutes) / 60.0)::integer as library_hours
    from marts.fct_visits as v join users using (user_key)
    where v.visit_date between %(start)s and %(end)s
    group by 1
),
attended as (
    select (a.starts_at::date - %(start)s::date) / 7 as n, count(*) as attendance
    from marts.fct_event_attendance as a join users using (user_key)
    where a.attended and a.starts_at::date between %(start)s and %(end)s
    group by 1
)
select
    w.week,
    coalesce(l.loans, 0) as loans,
    coalesce(v.visits, 0) as visits,
    coalesce(v.library_hours, 0) as library_hours,
    coalesce(a.attendance, 0) as attendance
from weeks as w
left join loans as l on l.n = (w.week - %(start)s::date) / 7
left join visits as v on v.n = (w.week - %(start)s::date) / 7
left join attended as a on a.n = (w.week - %(start)s::date) / 7
order by w.week
""")


def last_night(conn: psycopg.Connection) -> date | None:
    """The day of the last nightly run whose marts were validated."""
    return conn.execute("select max(data_date) from quality.validation_results").fetchone()[0]


def term_start(day: date) -> date:
    """The first day of the term ``day`` falls in."""
    starts = [date(year, m, d) for year in (day.year - 1, day.year) for m, d in TERM_STARTS]
    return max(start for start in starts if start <= day)


def measures(conn: psycopg.Connection, chosen: filters.Filters, start: date, end: date) -> dict:
    """The overview's five measures over [start, end] for the filtered patrons."""
    where, params = chosen.where("u")
    cursor = conn.execute(MEASURES.format(where=where), {**params, "start": start, "end": end})
    return dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))


def weekly(conn: psycopg.Connection, chosen: filters.Filters, start: date, end: date) -> web.Table:
    """Loans, visits, hours and attendance per week from ``start`` to ``end``."""
    where, params = chosen.where("u")
    return web.Table.of(
        conn.execute(WEEKLY.format(where=where), {**params, "start": start, "end": end})
    )


def freshness(conn: psycopg.Connection) -> web.Table:
    """Per source: the last export day loaded, when, and the last failure if it came later."""
    return web.Table.of(
        conn.execute("""
        select source,
               max(data_date) filter (where status = 'loaded') as last_day_loaded,
               max(finished_at) filter (where status = 'loaded') as loaded_at,
               max(data_date) filter (where status = 'failed') as last_day_failed
        from raw.load_audit
        group by source
        order by source
    """)
    )


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
    night = last_night(page.conn)
    if night is None:
        return page.render(
            "overview.html",
            night=None,
            filters=chosen,
            choices=filters.choices(page.conn),
            tables={},
        )
    start = term_start(night)
    now = measures(page.conn, chosen, start, night)
    before = measures(page.conn, chosen, start - YEAR_BEFORE, night - YEAR_BEFORE)
    this_year = weekly(page.conn, chosen, start, night)
    last_year = weekly(page.conn, chosen, start - YEAR_BEFORE, night - YEAR_BEFORE)
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
        if any(before.values()):  # no line of zeros for a year before the data begins
            series[_("same weeks last year")] = [row[index] for row in last_year.rows]
        trends[title] = charts.lines(weeks, series)
    cards = [(key, now[key], before[key]) for key in now]
    comparison = web.Table(
        ["measure", "this_term", "same_weeks_last_year"],
        [(key, now[key], before[key]) for key in now],
    )
    return page.render(
        "overview.html",
        night=night,
        term_start=start,
        filters=chosen,
        choices=filters.choices(page.conn),
        cards=cards,
        trends=trends,
        freshness=freshness(page.conn),
        quality=quality_status(page.conn, night),
        tables={"measures": comparison, "weekly": this_year, "freshness": freshness(page.conn)},
    )
