"""Events: attendance, no-shows and ratings by category month by month, each category's totals,
the audience by value segment and the latest events held, all for the filtered readers.

The numbers come from marts.event_attendance_by_group and marts.event_audience_by_group, which
dbt builds each night per group of patrons, so a filter sums a few thousand rows."""

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

# Every statement sums the nightly per-group marts over the groups the filters choose:
# marts.event_attendance_by_group (registrations per event held) and
# marts.event_audience_by_group (attendees per event category and value segment).
MONTHLY = sql.SQL("""
select
    to_char(g.month_starts_on, 'YYYY-MM') as month,
    g.event_category as category,
    sum(g.registrations)::bigint as registrations,
    sum(g.attended)::bigint as attended,
    sum(g.no_shows)::bigint as no_shows,
    round(sum(g.no_shows)::numeric / nullif(sum(g.attended) + sum(g.no_shows), 0), 3)
        as no_show_rate,
    sum(g.ratings)::bigint as ratings,
    round(sum(g.rating_sum)::numeric / nullif(sum(g.ratings), 0), 2) as average_rating
from marts.event_attendance_by_group as g
where {where}
group by 1, 2
order by 1, 2
""")

BY_CATEGORY = sql.SQL("""
with totals as (
    select
        g.event_category as category,
        sum(g.registrations)::bigint as registrations,
        sum(g.attended)::bigint as attended,
        sum(g.no_shows)::bigint as no_shows,
        sum(g.ratings)::bigint as ratings,
        round(sum(g.rating_sum)::numeric / nullif(sum(g.ratings), 0), 2) as average_rating
    from marts.event_attendance_by_group as g
    where {where}
    group by g.event_category
),
attendees as (
    select g.event_category as category, sum(g.attendees)::bigint as distinct_attendees
    from marts.event_audience_by_group as g
    where {where}
    group by g.event_category
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
    coalesce(attendees.distinct_attendees, 0) as distinct_attendees
from events
left join totals on events.category = totals.category
left join attendees on events.category = attendees.category
order by events.category
""")

# Attendees with a profile, by its value segment.
AUDIENCE = sql.SQL("""
select
    g.event_category as category,
    g.value_segment,
    sum(g.attendances)::bigint as attendances,
    sum(g.attendees)::bigint as attendees
from marts.event_audience_by_group as g
where {where} and g.value_segment is not null
group by 1, 2
order by 1, 2
""")

LATEST = sql.SQL("""
with latest as (
    select event_id, starts_at, title, category, seats
    from marts.activity_by_event
    order by starts_at desc, event_id
    limit %(latest)s
),
counts as (
    select
        g.event_id,
        sum(g.registrations)::bigint as registrations,
        sum(g.attended)::bigint as attended,
        sum(g.no_shows)::bigint as no_shows,
        round(sum(g.rating_sum)::numeric / nullif(sum(g.ratings), 0), 2) as average_rating
    from marts.event_attendance_by_group as g
    where {where} and g.event_id in (select event_id from latest)
    group by g.event_id
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
from latest as e
left join counts as c on e.event_id = c.event_id
order by e.starts_at desc, e.event_id
""")


def query(
    conn: psycopg.Connection, statement: sql.SQL, chosen: filters.Filters, **values
) -> web.Table:
    """One of the page's statements for the filtered readers, as a table."""
    where, params = chosen.where("g")
    return web.Table.of(conn.execute(statement.format(where=where), {**params, **values}))


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
