"""The events, recommendations and reader pages as a librarian uses them: signed in or sent to
sign in, filters that change the numbers as a direct count says, CSV downloads with the rows
shown, a reader known only by pseudonym, and what the recommender published for them."""

from __future__ import annotations

import csv
import html
import io
from datetime import date

import psycopg
import pytest
from fastapi.testclient import TestClient

from libcrm.workspace import i18n, vocabulary
from libcrm.workspace.app import create_app
from tests import workspace_support as ws

TEST_RUN = "activity-page-test"
TEST_NIGHT = date(2026, 3, 17)


@pytest.fixture(scope="module")
def http(library_warehouse):
    """A signed-in librarian's client of the workspace, in English."""
    url = library_warehouse["url"]
    ws.make_account(url, "activity.pages", "librarian")
    with TestClient(create_app(url), follow_redirects=False) as client:
        client.cookies.set(i18n.LANGUAGE_COOKIE, "en")
        assert ws.sign_in(client, "activity.pages").status_code == 303
        yield client


@pytest.fixture(scope="module")
def admin(library_warehouse):
    with psycopg.connect(library_warehouse["url"], autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def reader_key(admin):
    """The reader with the most book loans (not opted out)."""
    return admin.execute(
        "select l.user_key from marts.fct_loans as l"
        " join marts.dim_users as u on l.user_key = u.user_key"
        " where l.is_book and not u.opt_out group by 1 order by count(*) desc, 1 limit 1"
    ).fetchone()[0]


@pytest.fixture(scope="module")
def published(admin, reader_key):
    """One night's evaluations and a published list for the reader, removed afterwards."""
    items = [
        row[0]
        for row in admin.execute(
            "select item_id from marts.dim_items where is_book order by item_id limit 3"
        )
    ]
    event = admin.execute("select event_id from marts.dim_events order by event_id limit 1")
    event_id = event.fetchone()[0]
    night = date(2026, 3, 10)  # before the library's own nights: a night of its own
    for model, hit_rate, is_published in (("als", 0.25, True), ("popularity", 0.05, False)):
        admin.execute(
            "insert into quality.recommender_evaluations (run_id, data_date, model, cutoff,"
            " users_evaluated, hit_rate_at_10, precision_at_10, ndcg_at_10, coverage, published)"
            " values (%s, %s, %s, %s, 50, %s, 0.02, 0.1, 0.3, %s)",
            [TEST_RUN, night, model, night, hit_rate, is_published],
        )
    rows = [("resource", rank, item) for rank, item in enumerate(items, 1)]
    rows.append(("activity", 1, event_id))
    reasons = {
        "resource": ("popular", "{}"),
        "activity": ("seats_left", '{"category": "workshop"}'),
    }
    for kind, rank, target in rows:
        admin.execute(
            "insert into recsys.recommendation_log (kind, user_key, rank, target_id, score,"
            " generated_for, model_version, reason_code, reason_params)"
            " values (%s, %s, %s, %s, 1.0, %s, 'test-20260310', %s, %s)",
            [kind, reader_key, rank, target, night, *reasons[kind]],
        )
    yield {"night": night, "items": items, "event_id": event_id}
    admin.execute("delete from quality.recommender_evaluations where run_id = %s", [TEST_RUN])
    admin.execute("delete from recsys.recommendation_log where model_version = 'test-20260310'")


def rows_of(answer) -> list[dict]:
    assert answer.status_code == 200, answer.text[:300]
    assert answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))


def english(kind: str, code: str) -> str:
    with i18n.use("en"):
        return vocabulary.label(kind, code)


def test_the_pages_send_a_stranger_to_sign_in(library_warehouse, reader_key):
    with TestClient(create_app(library_warehouse["url"]), follow_redirects=False) as stranger:
        for path in ("/events", "/recommendations", f"/readers/{reader_key}"):
            answer = stranger.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path


def test_events_by_category_are_the_marts_totals_for_everyone(http, admin):
    page = http.get("/events")
    assert page.status_code == 200
    assert "Audience by value segment" in page.text
    shown = {row["Category"]: row for row in rows_of(http.get("/events?download=categories"))}
    mart = admin.execute(
        "select category, events_held, registrations, attended, no_shows"
        " from marts.activity_by_category"
    ).fetchall()
    assert mart and len(shown) == len(mart)
    for category, held, registrations, attended, no_shows in mart:
        row = shown[english("event_category", category)]
        assert (row["Events held"], row["Registrations"], row["Attended"], row["No-shows"]) == (
            str(held),
            str(registrations),
            str(attended),
            str(no_shows),
        )


def test_a_department_filter_counts_only_its_readers(http, admin):
    department = admin.execute(
        "select u.department from marts.fct_event_attendance as a"
        " join marts.activity_by_event using (event_id)"
        " join marts.dim_users as u on a.user_key = u.user_key"
        " where a.attended group by 1 order by count(*) limit 1"
    ).fetchone()[0]
    everyone = {
        r["Category"]: int(r["Attended"])
        for r in rows_of(http.get("/events", params={"download": "categories"}))
    }
    chosen = {
        r["Category"]: int(r["Attended"])
        for r in rows_of(
            http.get("/events", params={"department": department, "download": "categories"})
        )
    }
    direct = dict(
        admin.execute(
            "select a.category, count(*) from marts.fct_event_attendance as a"
            " join marts.activity_by_event using (event_id)"
            " join marts.dim_users as u on a.user_key = u.user_key"
            " where a.attended and u.department = %s group by 1",
            [department],
        ).fetchall()
    )
    assert sum(chosen.values()) < sum(everyone.values())
    for category, attended in chosen.items():
        assert attended <= everyone[category]
    assert chosen == {
        english("event_category", c): direct.get(c, 0)
        for c in [r[0] for r in admin.execute("select category from marts.activity_by_category")]
    }
    audience = rows_of(
        http.get("/events", params={"department": department, "download": "audience"})
    )
    assert sum(int(r["Attendances"]) for r in audience) == sum(direct.values())


def test_the_latest_events_table_and_its_csv_have_the_same_rows(http):
    page = html.unescape(http.get("/events").text)
    latest = rows_of(http.get("/events?download=latest"))
    assert latest
    for row in latest:
        assert row["Event"] in page


def test_recommendations_show_each_nights_quality_and_which_model_was_published(http, published):
    page = http.get("/recommendations", params={"department": "anything"})
    assert page.status_code == 200
    assert "The filters do not apply on this page." in page.text
    night = str(published["night"])
    quality = [
        r for r in rows_of(http.get("/recommendations?download=quality")) if r["Night"] == night
    ]
    assert {(r["Model"], r["Hit rate at 10"], r["Published"]) for r in quality} == {
        ("als", "0.2500", "yes"),
        ("popularity", "0.0500", "no"),
    }


def test_uptake_by_model_is_the_uptake_mart(http, admin):
    mart = admin.execute("select count(*) from marts.fct_recommendation_uptake").fetchone()[0]
    assert len(rows_of(http.get("/recommendations?download=uptake"))) == mart


@pytest.mark.parametrize("key", ["abc", "0" * 31, "A" * 32, "0" * 32 + "0", "g" * 32])
def test_a_reader_key_that_is_not_32_hex_digits_is_not_found(http, key):
    assert http.get(f"/readers/{key}").status_code == 404


def test_an_unknown_reader_is_not_found(http):
    assert http.get(f"/readers/{'0' * 32}").status_code == 404


def test_a_readers_page_shows_their_loans_by_class_and_what_was_published(
    http, admin, reader_key, published
):
    page = http.get(f"/readers/{reader_key}")
    assert page.status_code == 200
    assert reader_key[:8] in page.text
    patron = admin.execute(
        "select p.patron_id, p.name, p.email, p.barcode from raw.patrons as p"
        " join identity.patron_keys as k on p.patron_id = k.patron_id"
        " where k.user_key = %s limit 1",
        [reader_key],
    ).fetchone()
    assert patron, "the reader has no patron row to look for"
    for value in patron:
        assert not value or value not in page.text
    loans = rows_of(http.get(f"/readers/{reader_key}?download=loans"))
    direct = admin.execute(
        "select count(*), count(distinct clc_class) from marts.fct_loans"
        " where user_key = %s and is_book",
        [reader_key],
    ).fetchone()
    assert (sum(int(r["Loans"]) for r in loans), len(loans)) == direct
    recommended = rows_of(http.get(f"/readers/{reader_key}?download=recommended"))
    titles = {
        t
        for (t,) in admin.execute(
            "select title from marts.dim_items where item_id = any(%s)", [published["items"]]
        )
    }
    assert {r["Kind"] for r in recommended} == {"Book", "Event"}
    assert {r["Title"] for r in recommended if r["Kind"] == "Book"} == titles
    assert all(r["Published for"] == str(published["night"]) for r in recommended)
    assert {r["Kind"]: r["Why"] for r in recommended} == {
        "Book": "among the books most borrowed lately",
        "Event": "an event with seats left (Workshop)",
    }
    http.cookies.set(i18n.LANGUAGE_COOKIE, "zh")
    try:
        chinese = http.get(f"/readers/{reader_key}").text
    finally:
        http.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    assert "近来借阅最多的图书之一" in chinese and "尚有空位的活动（工作坊）" in chinese


def test_a_reader_who_refused_profiling_shows_no_segment(http, admin):
    refused = admin.execute(
        "select user_key from marts.user_profiles where opt_out order by user_key limit 1"
    ).fetchone()
    if refused is None:
        pytest.skip("the simulated library has no reader who opted out")
    profile = rows_of(http.get(f"/readers/{refused[0]}?download=profile"))
    fields = {r["Field"] for r in profile}
    assert "Patron category" in fields
    assert not fields & {"Value segment", "Lifecycle stage", "Persona", "Loyalty score (0-100)"}
    assert rows_of(http.get(f"/readers/{refused[0]}?download=history")) == []


def test_this_term_starts_on_the_academic_calendars_term_of_the_night(admin):
    """The overview's term is the calendar seed's, not a second statement of term dates."""
    calendar = admin.execute(
        "select max(first_day) from marts.academic_calendar"
        " where kind = 'term' and first_day <= %s",
        [TEST_NIGHT],
    ).fetchone()[0]
    terms = admin.execute(
        "select distinct period, first_day, term_starts_on from marts.activity_term_to_date"
    ).fetchall()
    assert ("this_term", calendar, calendar) in terms
    assert calendar == date(2026, 2, 23)
