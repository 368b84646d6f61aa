"""Events: attendance, no-shows and ratings by category month by month, each category's totals,
the audience by value segment and the latest events held, all for the filtered readers."""

from __future__ import annotations

from functools import partial

import psycopg
from fastapi import APIRouter
from psycopg import sql

from libcrm.workspace import charts, filters, i18n, web
from libcrm.workspace.i18n import gettext as _
from libcrm.workspace.pages.shown import labelled
from libcrm.workspace.vocabulary import NAMES, label

router = APIRouter()

# How many of the latest events held the page lists (the CSV has the same rows).
LATEST_EVENTS = 50

# Registrations of events held up to the night (marts.activity_by_event lists exactly those)
# by the filtered readers; every query of the page starts from them.
HELD = sql.SQL("""
with held as (
    select a.event_id, a.category, a.starts_at, a.attendance, a.rating, a.user_key
    from marts.fct_event_attendance as a
    inner join marts.activity_by_event as e on a.event_id = e.event_id
    inner join marts.dim_users as u on a.user_key = u.user_key
    where {where}
)
""")

# Without a filter, no patron is left out: the join to marts.dim_users only costs time.
HELD_BY_EVERYONE = sql.SQL("""
with held as (
    select a.event_id, a.category, a.starts_at, a.attendance, a.rating, a.user_key
    from marts.fct_event_attendance as a
    inner join marts.activity_by_event as e on a.event_id = e.event_id
    where {where}
)
""")

MONTHLY = sql.SQL("""
{held}
select
    to_char(date_trunc('month', starts_at), 'YYYY-MM') as month,
    category,
    count(*) as registrations,
    count(*) filter (where attendance = 'attended') as attended,
    count(*) filter (where attendance = 'no_show') as no_shows,
    round(
        count(*) filter (where attendance = 'no_show')::numeric
        / nullif(count(*) filter (where attendance in ('attended', 'no_show')), 0), 3
    ) as no_show_rate,
    count(rating) as ratings,
    round(avg(rating), 2) as average_rating
from held
group by 1, 2
order by 1, 2
""")

BY_CATEGORY = sql.SQL("""
{held},
totals as (
    select
        category,
        count(*) as registrations,
        count(*) filter (where attendance = 'attended') as attended,
        count(*) filter (where attendance = 'no_show') as no_shows,
        count(rating) as ratings,
        round(avg(rating), 2) as average_rating,
        count(distinct user_key) filter (where attendance = 'attended') as distinct_attendees
    from held
    group by category
),
events as (
    select category, count(*) as events_held from marts.activity_by_event group by category
)
select
    events.category,
    events.events_held,
    coalesce(totals.registrations, 0) as registrations,
    coalesce(totals.attended, 0) as attended,
    coalesce(totals.no_shows, 0) as no_shows,
    round(totals.attended::numeric / nullif(totals.attended + totals.no_shows, 0), 3)
        as attendance_rate,
    coalesce(totals.ratings, 0) as ratings,
    totals.average_rating,
    coalesce(totals.distinct_attendees, 0) as distinct_attendees
from events
left join totals on events.category = totals.category
order by events.category
""")

AUDIENCE = sql.SQL("""
{held}
select
    held.category,
    p.value_segment,
    count(*) as attendances,
    count(distinct held.user_key) as attendees
from held
inner join marts.user_profiles as p on held.user_key = p.user_key
where held.attendance = 'attended'
group by 1, 2
order by 1, 2
""")

LATEST = sql.SQL("""
{held},
counts as (
    select
        event_id,
        count(*) as registrations,
        count(*) filter (where attendance = 'attended') as attended,
        count(*) filter (where attendance = 'no_show') as no_shows,
        round(avg(rating), 2) as average_rating
    from held
    group by event_id
)
select
    e.starts_at::date as day,
    e.title,
    e.category,
    e.seats,
    coalesce(c.registrations, 0) as registrations,
    coalesce(c.attended, 0) as attended,
    coalesce(c.no_shows, 0) as no_shows,
    c.average_rating
from marts.activity_by_event as e
left join counts as c on e.event_id = c.event_id
order by e.starts_at desc, e.event_id
limit %(latest)s
""")


def query(
    conn: psycopg.Connection, statement: sql.SQL, chosen: filters.Filters, **values
) -> web.Table:
    """One of the page's statements for the filtered readers, as a table."""
    where, params = chosen.where("u")
    held = (HELD if chosen.any() else HELD_BY_EVERYONE).format(where=where)
    return web.Table.of(conn.execute(statement.format(held=held), {**params, **values}))


def by_month(monthly: web.Table, column: str, percent: bool = False) -> tuple[list, dict]:
    """The months and, per event category, one value of ``column`` per month (None if none)."""
    months = sorted({row["month"] for row in monthly.dicts()})
    values: dict[str, dict] = {}
    for row in monthly.dicts():
        value = row[column]
        if value is not None:
            value = float(value) * (100 if percent else 1)
        values.setdefault(row["category"], {})[row["month"]] = value
    series = {
        label("event_category", category): [per_month.get(month) for month in months]
        for category, per_month in sorted(values.items())
    }
    return months, series


stacked_bars = partial(charts.bars, stacked=True)


def audience_chart(audience: web.Table) -> dict:
    """Attendees of each event category, stacked by their value segment."""
    categories = sorted({row["category"] for row in audience.dicts()})
    counts = {(row["category"], row["value_segment"]): row["attendees"] for row in audience.dicts()}
    series = {
        label("value_segment", segment): [counts.get((c, segment), 0) for c in categories]
        for segment in NAMES["value_segment"]
    }
    names = [label("event_category", category) for category in categories]
    return charts.bars(names, series, stacked=True, y_title=_("Readers"))


def headers() -> dict[str, str]:
    """The page's column headers in the current language."""
    return {
        "month": _("Month"),
        "day": _("Day"),
        "title": _("Event"),
        "category": _("Category"),
        "value_segment": _("Value segment"),
        "seats": _("Seats"),
        "events_held": _("Events held"),
        "registrations": _("Registrations"),
        "attended": _("Attended"),
        "attendances": _("Attendances"),
        "attendees": _("Readers who attended"),
        "distinct_attendees": _("Readers who attended"),
        "no_shows": _("No-shows"),
        "no_show_rate": _("No-show rate"),
        "attendance_rate": _("Attendance rate"),
        "ratings": _("Ratings"),
        "average_rating": _("Average rating"),
    }


@router.get("/events")
def events(page: web.Reader):
    chosen = filters.Filters.of(page.request)
    monthly = query(page.conn, MONTHLY, chosen)
    categories = query(page.conn, BY_CATEGORY, chosen)
    audience = query(page.conn, AUDIENCE, chosen)
    latest = query(page.conn, LATEST, chosen, latest=LATEST_EVENTS)
    with i18n.use(page.language):
        trends = {}
        for column, title, y_title, percent, draw in (
            ("attended", _("Attendance per month"), _("Attendances"), False, stacked_bars),
            ("no_show_rate", _("No-show rate per month"), "%", True, charts.lines),
            ("average_rating", _("Average rating per month (1-5)"), "", False, charts.lines),
        ):
            months, series = by_month(monthly, column, percent)
            trends[title] = draw(months, series, y_title=y_title)
        names = headers()
        category = {"category": "event_category"}
        tables = {
            "categories": labelled(categories, names, category),
            "monthly": labelled(monthly, names, category),
            "audience": labelled(audience, names, {**category, "value_segment": "value_segment"}),
            "latest": labelled(latest, names, category),
        }
        segments = audience_chart(audience)
    return page.render(
        "events.html",
        filters=chosen,
        choices=filters.choices(page.conn),
        trends=trends,
        audience_chart=segments,
        latest_count=LATEST_EVENTS,
        tables=tables,
    )
