"""The portal API on a real loopback server over the shared library warehouse: tokens, the
served night, recommendations with reasons in both languages, similar items, and the
impressions and dismissals the next night honours and the uptake mart counts."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import httpx
import psycopg
import pytest
from psycopg import errors

from libcrm import server, transform
from libcrm.api import tokens
from recsys import nightly
from tests import workspace_support as ws
from tests.test_dbt_marts import separate_dbt_folders

NIGHT = ws.LAST_NIGHT
NEXT_NIGHT = NIGHT + timedelta(days=1)


@pytest.fixture(scope="module")
def url(library_warehouse):
    """The shared warehouse with the recommender's first night published."""
    url = library_warehouse["url"]
    nightly.run(NIGHT, "api-night-1", url)
    return url


@pytest.fixture(scope="module")
def token(url):
    with psycopg.connect(url) as conn:
        return tokens.issue(conn, "portal-tests")


@pytest.fixture(scope="module")
def base(url):
    with ws.served(url, server.create_app) as base:
        yield base


@pytest.fixture(scope="module")
def api(base, token):
    with httpx.Client(
        base_url=f"{base}/api/v1", headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as client:
        yield client


@pytest.fixture(scope="module")
def admin(url):
    with psycopg.connect(url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def patron(admin):
    """A patron with both books and events, the one with the most distinct reasons."""
    return admin.execute(
        "select r.patron_id from portal.resource_recommendations as r"
        " inner join portal.activity_recommendations as a using (patron_id)"
        " group by r.patron_id order by count(distinct r.reason_code) desc, r.patron_id limit 1"
    ).fetchone()[0]


ENDPOINTS = [
    ("GET", "/publication"),
    ("GET", "/patrons/P1/recommendations"),
    ("GET", "/items/I1/similar"),
    ("POST", "/impressions"),
    ("POST", "/dismissals"),
]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS)
def test_without_a_live_token_every_endpoint_answers_401_with_a_challenge(base, url, method, path):
    with psycopg.connect(url) as conn:
        name = f"revoked-{ENDPOINTS.index((method, path))}"
        revoked = tokens.issue(conn, name)
        tokens.revoke(conn, name)
    for headers in ({}, {"Authorization": "Bearer lcrm_wrong"}, {"Authorization": revoked}):
        answer = httpx.request(method, f"{base}/api/v1{path}", headers=headers, json={})
        assert answer.status_code == 401, headers
        assert answer.headers["www-authenticate"].startswith("Bearer")
    answer = httpx.request(
        method, f"{base}/api/v1{path}", headers={"Authorization": f"Bearer {revoked}"}, json={}
    )
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_the_token_is_stored_only_as_its_hash(admin, token):
    stored = admin.execute(
        "select token_hash from portal.api_tokens where client = 'portal-tests'"
    ).fetchone()[0]
    assert stored == tokens.digest(token) and token not in stored


def test_the_publication_is_the_night_served(api, admin):
    row = admin.execute(
        "select generated_for, model_version, row_counts from portal.publication"
        " order by generated_for desc limit 1"
    ).fetchone()
    answer = api.get("/publication").json()
    assert answer["generated_for"] == NIGHT.isoformat() == row[0].isoformat()
    assert answer["model_version"] == row[1]
    counts = admin.execute("select count(*) from portal.resource_recommendations").fetchone()[0]
    assert (
        answer["row_counts"]["portal.resource_recommendations"]
        == counts
        == row[2]["portal.resource_recommendations"]
    )
    assert datetime.fromisoformat(answer["published_at"]).tzinfo is not None


def test_book_recommendations_carry_titles_and_reasons_in_both_languages(api, admin, patron):
    stored = admin.execute(
        "select r.rank, r.item_id, r.reason, r.reason_code, i.title, i.call_number"
        " from portal.resource_recommendations as r inner join marts.dim_items as i"
        " using (item_id) where r.patron_id = %s order by r.rank",
        [patron],
    ).fetchall()
    english = api.get(f"/patrons/{patron}/recommendations", params={"lang": "en"}).json()
    chinese = api.get(f"/patrons/{patron}/recommendations", params={"lang": "zh"}).json()
    assert english["generated_for"] == NIGHT.isoformat()
    listed = english["recommendations"]
    assert [(r["rank"], r["item"]["item_id"]) for r in listed] == [row[:2] for row in stored]
    assert [r["reason"]["text"] for r in listed] == [row[2] for row in stored]
    assert [r["reason"]["code"] for r in listed] == [row[3] for row in stored]
    assert [(r["item"]["title"], r["item"]["call_number"]) for r in listed] == [
        row[4:] for row in stored
    ]
    worded = {r["reason"]["code"]: r["reason"]["text"] for r in chinese["recommendations"]}
    assert worded and all(text not in {row[2] for row in stored} for text in worded.values())
    if "borrowed_similar" in worded:
        assert worded["borrowed_similar"].startswith("因为你借过《")
    if "popular_in_department" in worded:
        assert worded["popular_in_department"].startswith("近来在你所在的院系")


def test_event_recommendations_carry_times_places_and_named_categories(api, admin, patron):
    answer = api.get(f"/patrons/{patron}/recommendations?kind=events&lang=zh").json()
    events = answer["recommendations"]
    assert events and all(r["item"] is None for r in events)
    first = events[0]["event"]
    stored = admin.execute(
        "select title, location, starts_at, category from marts.dim_events where event_id = %s",
        [first["event_id"]],
    ).fetchone()
    assert (first["title"], first["place"], first["category"]) == (
        stored[0],
        stored[1],
        stored[3],
    )
    assert datetime.fromisoformat(first["starts_at"]) == stored[2]
    names = {"lecture": "讲座", "reading_club": "读书会", "workshop": "工作坊"}
    if first["category"] in names:
        assert first["category_name"] == names[first["category"]]


def test_unknown_patrons_and_items_are_404_and_bad_parameters_422(api):
    assert api.get("/patrons/NOBODY-0/recommendations").status_code == 404
    assert api.get("/items/NO-SUCH-ITEM/similar").status_code == 404
    assert api.get("/patrons/P1/recommendations?kind=films").status_code == 422
    assert api.get("/patrons/P1/recommendations?lang=fr").status_code == 422
    assert api.get("/patrons/%20drop/recommendations").status_code == 422
    bad = {"patron_id": "P1", "kind": "books", "ids": [], "shown_at": "2026-03-18T10:00:00"}
    assert api.post("/impressions", json=bad).status_code == 422


def test_similar_items_are_the_nights_table_with_their_titles(api, admin):
    """The night filled portal.similar_items from its model: the API serves those rows, in
    rank order, with the titles of the marts."""
    first = admin.execute(
        "select item_id from portal.similar_items where generated_for = %s"
        " order by item_id limit 1",
        [NIGHT],
    ).fetchone()[0]
    table = admin.execute(
        "select s.rank, s.similar_item_id, i.title from portal.similar_items as s"
        " join marts.dim_items as i on s.similar_item_id = i.item_id"
        " where s.item_id = %s and s.generated_for = %s order by s.rank",
        [first, NIGHT],
    ).fetchall()
    lonely = admin.execute(
        "select i.item_id from portal.items as i where not exists (select from"
        " portal.similar_items as s where s.item_id = i.item_id) order by 1 limit 1"
    ).fetchone()
    answer = api.get(f"/items/{first}/similar").json()
    served = [(s["rank"], s["item"]["item_id"], s["item"]["title"]) for s in answer["similar"]]
    assert served == table and table
    if lonely:
        assert api.get(f"/items/{lonely[0]}/similar").json()["similar"] == []


def test_the_portal_role_reads_portal_only_and_cannot_read_back_reports(url):
    refused = [
        "select count(*) from marts.dim_users",
        "select count(*) from identity.patron_keys",
        "select count(*) from recsys.dismissals",
        "select count(*) from portal.impressions",
        "select count(*) from portal.dismissals",
        "select token_hash from portal.api_tokens",
        "delete from portal.api_tokens",
        "insert into portal.resource_recommendations (patron_id, rank, item_id, score, reason,"
        " generated_for, model_version) values ('P', 1, 'I', 1, 'r', current_date, 'v')",
    ]
    with psycopg.connect(url) as conn:
        conn.execute("set role libcrm_portal")
        assert conn.execute("select count(*) from portal.items").fetchone()[0] > 0
        for statement in refused:
            with pytest.raises(errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)


def test_schemathesis_finds_no_server_error_and_answers_as_documented(base, token):
    """Generated requests (valid and not) get no 5xx, and every answer has a documented
    status, content type and body. (Not checked: that every schema-valid body is accepted;
    a time in the future is valid JSON Schema and refused.)"""
    import schemathesis
    from schemathesis.checks import not_a_server_error
    from schemathesis.core.failures import FailureGroup
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    checks = (
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    )
    schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
    failures = []
    calls = 0
    for operation in schema.get_all_operations():
        strategy = operation.ok().as_strategy()
        for case in _examples(strategy, 40):
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            calls += 1
            try:
                case.validate_response(response, checks=checks)
            except (AssertionError, FailureGroup) as failure:
                failures.append(f"{case.method} {case.formatted_path}: {failure}")
    assert calls >= 100
    assert not failures, "\n".join(failures[:5])


def _examples(strategy, count):
    from hypothesis import HealthCheck, given, settings

    found = []

    @settings(max_examples=count, deadline=None, suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(case):
        found.append(case)

    collect()
    return found


def test_dismissed_books_and_events_are_absent_the_next_night_and_impressions_counted(
    api, admin, patron, url, tmp_path
):
    books = api.get(f"/patrons/{patron}/recommendations").json()["recommendations"]
    events = api.get(f"/patrons/{patron}/recommendations?kind=events").json()["recommendations"]
    book, event = books[0]["item"]["item_id"], events[0]["event"]["event_id"]
    for kind, target in (("books", book), ("events", event)):
        answer = api.post("/dismissals", json={"patron_id": patron, "kind": kind, "id": target})
        assert answer.status_code == 202
    shown_at = f"{NEXT_NIGHT.isoformat()}T09:30:00+08:00"
    shown = {"patron_id": patron, "kind": "books", "ids": [book], "shown_at": shown_at}
    assert api.post("/impressions", json=shown).json() == {"received": 1}

    nightly.run(NEXT_NIGHT, "api-night-2", url)

    assert api.get("/publication").json()["generated_for"] == NEXT_NIGHT.isoformat()
    again = api.get(f"/patrons/{patron}/recommendations").json()["recommendations"]
    assert again and book not in {r["item"]["item_id"] for r in again}
    again = api.get(f"/patrons/{patron}/recommendations?kind=events").json()["recommendations"]
    assert event not in {r["event"]["event_id"] for r in again}
    assert admin.execute("select count(*) from portal.dismissals").fetchone()[0] == 0
    kept = admin.execute("select kind, target_id from recsys.dismissals").fetchall()
    assert sorted(kept) == sorted([("resource", book), ("activity", event)])

    with separate_dbt_folders(tmp_path):
        variables = {"as_of": NEXT_NIGHT.isoformat(), "vocabulary_additions": {}}
        transform.run_dbt(
            ["build", "--select", "fct_recommendation_uptake", "--vars", json.dumps(variables)],
            url,
        )
    first_night = admin.execute(
        "select users_recommended, users_shown from marts.fct_recommendation_uptake"
        " where kind = 'resource' and generated_for = %s",
        [NIGHT],
    ).fetchone()
    assert first_night[1] == 1 and first_night[0] > 1
