"""The segments and events pages read nightly per-group marts instead of the facts: under every
filter they offer (department, patron category, cohort, and all three at once) each number
they show and download is the one the facts and the segment history give directly."""

from __future__ import annotations

import csv
import html
import io
import re
from urllib.parse import parse_qsl

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from libcrm.crm import audiences
from libcrm.workspace import filters, i18n, vocabulary
from libcrm.workspace.app import create_app
from tests import workspace_support as ws

# The pages' statements as they read the facts before the marts existed: the reference.
HELD = """
with held as (
    select a.event_id, a.category, a.starts_at, a.attendance, a.rating, a.user_key
    from marts.fct_event_attendance as a
    inner join marts.activity_by_event as e on a.event_id = e.event_id
    left join marts.dim_users as u on a.user_key = u.user_key
    where {where}
)
"""
DIRECT = {
    "monthly": """
select to_char(date_trunc('month', starts_at), 'YYYY-MM'), category, count(*),
    count(*) filter (where attendance = 'attended'),
    count(*) filter (where attendance = 'no_show'),
    round(count(*) filter (where attendance = 'no_show')::numeric
        / nullif(count(*) filter (where attendance in ('attended', 'no_show')), 0), 3),
    count(rating), round(avg(rating), 2)
from held group by 1, 2 order by 1, 2""",
    "categories": """,
totals as (
    select category, count(*) as registrations,
        count(*) filter (where attendance = 'attended') as attended,
        count(*) filter (where attendance = 'no_show') as no_shows,
        count(rating) as ratings, round(avg(rating), 2) as average_rating,
        count(distinct user_key) filter (where attendance = 'attended') as distinct_attendees
    from held group by category
),
events as (select category, count(*) as held from marts.activity_by_event group by category)
select events.category, events.held, coalesce(t.registrations, 0), coalesce(t.attended, 0),
    coalesce(t.no_shows, 0), round(t.attended::numeric / nullif(t.attended + t.no_shows, 0), 3),
    coalesce(t.ratings, 0), t.average_rating, coalesce(t.distinct_attendees, 0)
from events left join totals as t on events.category = t.category order by events.category""",
    "audience": """
select held.category, p.value_segment, count(*), count(distinct held.user_key)
from held inner join marts.user_profiles as p on held.user_key = p.user_key
where held.attendance = 'attended' group by 1, 2 order by 1, 2""",
    "latest": """,
counts as (
    select event_id, count(*) as registrations,
        count(*) filter (where attendance = 'attended') as attended,
        count(*) filter (where attendance = 'no_show') as no_shows,
        round(avg(rating), 2) as average_rating
    from held group by event_id
)
select e.starts_at::date, e.title, e.category, e.seats, coalesce(c.registrations, 0),
    coalesce(c.attended, 0), coalesce(c.no_shows, 0), c.average_rating
from marts.activity_by_event as e left join counts as c on e.event_id = c.event_id
order by e.starts_at desc, e.event_id limit 50""",
}
# Codes shown by name, per download: column position -> vocabulary kind.
NAMED = {
    "monthly": {1: "event_category"},
    "categories": {0: "event_category"},
    "audience": {0: "event_category", 1: "value_segment"},
    "latest": {2: "event_category"},
}
DISTRIBUTION = """
select p.value_segment, p.lifecycle_stage, p.persona
from marts.user_profiles as p join marts.dim_users as u using (user_key) where {where}"""
# Per reader observed before the month's end: the version at its start (the last before it,
# else the first in it) and at its end (the last before the next month).
VERSIONS = """
select s.user_key, s.{dimension}, s.dbt_valid_from::date
from snapshots.user_segments_snapshot as s join marts.dim_users as u using (user_key)
where {where} and s.dbt_valid_from < %(month_end)s
order by s.user_key, s.dbt_valid_from"""


@pytest.fixture(scope="module")
def http(library_warehouse):
    url = library_warehouse["url"]
    ws.make_account(url, "group.marts", "librarian")
    with TestClient(create_app(url), follow_redirects=False) as client:
        client.cookies.set(i18n.LANGUAGE_COOKIE, "en")
        assert ws.sign_in(client, "group.marts").status_code == 303
        yield client


@pytest.fixture(scope="module")
def admin(library_warehouse):
    with psycopg.connect(library_warehouse["url"], autocommit=True) as conn:
        yield conn


def _most_common(admin, column: str):
    query = sql.SQL(
        "select {0} from marts.dim_users where {0} is not null"
        " group by 1 order by count(*) desc, 1 limit 1"
    ).format(sql.Identifier(column))
    return admin.execute(query).fetchone()[0]


@pytest.fixture(scope="module")
def choices(admin) -> list[filters.Filters]:
    """No filter, each filter alone (its most common value) and all three together."""
    department, category, cohort = (
        _most_common(admin, c) for c in ("department", "category", "enrolled_year")
    )
    return [
        filters.Filters(),
        filters.Filters(department=department),
        filters.Filters(category=category),
        filters.Filters(cohort=cohort),
        filters.Filters(department=department, category=category, cohort=cohort),
    ]


def downloaded(http, path: str, chosen: filters.Filters, **params) -> list[list[str]]:
    answer = http.get(path, params={**dict(parse_qsl(chosen.query_string())), **params})
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))[1:]


def shown(value, kind: str | None = None) -> str:
    """A value as the CSV writes it, a code by its English name."""
    if value is None:
        return ""
    if kind:
        with i18n.use("en"):
            return vocabulary.label(kind, value)
    return str(value)


@pytest.mark.parametrize("download", sorted(DIRECT))
def test_events_downloads_equal_the_facts_under_every_filter(http, admin, choices, download):
    for chosen in choices:
        where, params = chosen.where("u")
        statement = sql.SQL(HELD + DIRECT[download]).format(where=where)
        expected = [
            [shown(v, NAMED[download].get(i)) for i, v in enumerate(row)]
            for row in admin.execute(statement, params)
        ]
        assert downloaded(http, "/events", chosen, download=download) == expected, chosen
    assert any(expected), "the last filter chose no event registrations: nothing was compared"


def test_the_segment_distribution_equals_the_profiles_under_every_filter(http, admin, choices):
    for chosen in choices:
        where, params = chosen.where("u")
        labels = admin.execute(sql.SQL(DISTRIBUTION).format(where=where), params).fetchall()
        rows = downloaded(http, "/segments", chosen, download="distribution")
        readers = {(kind, code): int(n) for kind, code, _, n, _ in rows}
        for position, kind in enumerate(("value_segment", "lifecycle_stage", "persona")):
            for code in vocabulary.NAMES[kind]:
                expected = sum(1 for label in labels if label[position] == code)
                assert readers[(kind, code)] == expected, (chosen, kind, code)
        assert sum(readers.values()) == 3 * len(labels) > 0


@pytest.mark.parametrize("dimension", ["value_segment", "lifecycle_stage"])
def test_segment_flows_equal_the_history_under_every_filter(http, admin, choices, dimension):
    month = admin.execute(
        "select max(date_trunc('month', dbt_valid_from))::date"
        " from snapshots.user_segments_snapshot"
    ).fetchone()[0]
    month_end = month.replace(year=month.year + month.month // 12, month=month.month % 12 + 1)
    for chosen in choices:
        where, params = chosen.where("u")
        query = sql.SQL(VERSIONS).format(dimension=sql.Identifier(dimension), where=where)
        versions: dict[str, list] = {}
        for user_key, state, observed_on in admin.execute(
            query, {**params, "month_end": month_end}
        ):
            versions.setdefault(user_key, []).append((observed_on, state))
        expected: dict[tuple[str, str], int] = {}
        for history in versions.values():
            before = [state for observed_on, state in history if observed_on < month]
            start = before[-1] if before else history[0][1]
            pair = (shown(start, dimension), shown(history[-1][1], dimension))
            expected[pair] = expected.get(pair, 0) + 1
        rows = downloaded(
            http, "/segments", chosen, dimension=dimension, month=month.isoformat()[:7],
            download="transitions",
        )  # fmt: skip
        assert {(a, b): int(n) for a, b, n in rows} == expected, chosen
        assert len(rows) == len(expected) > 0


def offered(page: str, name: str) -> list[str]:
    """The values of a select's options on a page, the empty "All" left out."""
    select = re.search(rf'<select name="{name}">(.*?)</select>', page, re.S).group(1)
    return [value for value in re.findall(r'<option value="([^"]*)"', select) if value]


def test_filters_and_goal_classes_offer_what_the_patrons_and_loans_hold(http, admin):
    # The new-campaign form (with its CLC classes) is shown once an audience exists.
    growth = {"all": [{"field": "segment", "op": "eq", "value": "growth"}]}
    audience_id = audiences.create(admin, "group marts: growth", growth, "tests")
    page = html.unescape(http.get("/campaigns").text)
    admin.execute("delete from workspace.audiences where audience_id = %s", [audience_id])
    for name, column, latest_first in (
        ("department", "department", False),
        ("category", "category", False),
        ("cohort", "enrolled_year", True),
    ):
        query = sql.SQL("select distinct {0} from marts.dim_users where {0} is not null")
        held = sorted(v for (v,) in admin.execute(query.format(sql.Identifier(column))))
        expected = [str(v) for v in (reversed(held) if latest_first else held)]
        assert offered(page, name) == expected and expected, name
    classes = admin.execute(
        "select distinct clc_class from marts.fct_loans"
        " where is_book and clc_class is not null order by 1"
    ).fetchall()
    assert offered(page, "clc_class") == [row[0] for row in classes] and classes
