"""The segments, opinion leaders and leaderboards pages on a simulated small library: signed in
they answer, signed out they send to the login page, a filter changes the numbers as a direct
count says, the CSV holds the rows shown, and no patron id or name appears."""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import timedelta
from urllib.parse import urlencode

import psycopg
import pytest
from fastapi.testclient import TestClient

from libcrm import transform
from libcrm.workspace import accounts
from libcrm.workspace.app import create_app
from libcrm.workspace.pages import leaders as leaders_page
from tests.test_dbt_marts import FIRST_DAY, NIGHTS, load_library

PAGES = ("/segments", "/leaders", "/leaderboards")


@pytest.fixture(scope="module")
def library(warehouse_url, tmp_path_factory, pseudonym_key, dbt_paths):
    truth = load_library(warehouse_url, tmp_path_factory.mktemp("library"), NIGHTS)
    for offset in range(NIGHTS):
        transform.build(FIRST_DAY + timedelta(days=offset), warehouse_url)
    return {"url": warehouse_url, "patrons": truth}


@pytest.fixture(scope="module")
def dbt_paths(tmp_path_factory):
    from tests.test_dbt_marts import separate_dbt_folders

    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")) as folder:
        yield folder


@pytest.fixture(scope="module")
def client(library):
    with psycopg.connect(library["url"]) as conn:
        accounts.create_account(conn, "reader1", "librarian", "a-long-test-password", "tests")
    with TestClient(create_app(library["url"])) as test_client:
        form = test_client.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = test_client.post(
            "/login",
            data={"username": "reader1", "password": "a-long-test-password", "csrf_token": token},
            follow_redirects=False,
        )
        assert answer.status_code == 303
        yield test_client


def scalar(url: str, query: str, params: dict | None = None):
    with psycopg.connect(url) as conn:
        return conn.execute(query, params or {}).fetchone()[0]


def csv_rows(client: TestClient, url: str) -> list[dict]:
    answer = client.get(url)
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_signed_in_and_send_strangers_to_sign_in(client, library, path):
    assert client.get(path).status_code == 200
    with TestClient(create_app(library["url"])) as stranger:
        answer = stranger.get(path, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")


@pytest.mark.parametrize("path", PAGES)
def test_no_patron_id_name_email_or_card_appears(client, library, path):
    with psycopg.connect(library["url"]) as conn:
        shown = conn.execute(
            "select distinct p.patron_id, p.name, p.email, p.barcode from raw.patrons as p"
            " join marts.user_profiles using (user_key)"
        ).fetchall()
    assert shown
    answers = [client.get(path, cookies={"libcrm_lang": lang}) for lang in ("en", "zh")]
    if path == "/segments":
        answers.append(client.get(path, params={"kind": "value_segment", "code": "long_term"}))
    assert {answer.status_code for answer in answers} == {200}
    html = "".join(answer.text for answer in answers)
    for row in shown:
        for value in row:
            if value and len(value) >= 4:
                assert value not in html


def test_a_department_filter_counts_as_a_direct_count(client, library):
    url = library["url"]
    department = scalar(url, "select min(department) from marts.dim_users")
    everyone = csv_rows(client, "/segments?download=distribution")
    theirs = csv_rows(client, f"/segments?department={department}&download=distribution")
    expected = scalar(
        url,
        "select count(*) from marts.user_profiles as p join marts.dim_users as u using (user_key)"
        " where u.department = %(d)s and p.value_segment = 'growth'",
        {"d": department},
    )
    growth = {r["code"]: int(r["readers"]) for r in theirs if r["kind"] == "value_segment"}
    growth_all = {r["code"]: int(r["readers"]) for r in everyone if r["kind"] == "value_segment"}
    assert growth["growth"] == expected <= growth_all["growth"]
    assert sum(growth.values()) < sum(growth_all.values())


def test_transitions_follow_every_chosen_reader_through_the_history(client, library):
    url = library["url"]
    rows = csv_rows(client, "/segments?dimension=value_segment&download=transitions")
    in_history = scalar(
        url, "select count(distinct user_key) from snapshots.user_segments_snapshot"
    )
    assert sum(int(r["readers"]) for r in rows) == in_history
    moved = sum(int(r["readers"]) for r in rows if r["from"] != r["to"])
    mart = scalar(
        url,
        "select coalesce(sum(distinct_users), 0) from marts.segment_transitions_monthly"
        " where dimension = 'value_segment'",
    )
    assert moved <= mart


def test_the_readers_of_a_label_are_the_rows_of_its_csv(client, library):
    url = library["url"]
    html = client.get("/segments?kind=value_segment&code=growth").text
    rows = csv_rows(client, "/segments?kind=value_segment&code=growth&download=readers")
    expected = scalar(
        url, "select count(*) from marts.user_profiles where value_segment = 'growth'"
    )
    assert len(rows) == min(expected, 500) and expected > 0
    assert {r["value_segment"] for r in rows} == {"growth"}
    for row in rows:
        assert f'href="/readers/{row["user_key"]}"' in html


def test_rules_show_the_thresholds_of_the_dbt_project(client):
    html = client.get("/segments", cookies={"libcrm_lang": "en"}).text
    assert "Engagement of at least 0.75 among their peers in the last 90 days" in html
    html = client.get("/segments", cookies={"libcrm_lang": "zh"}).text
    assert "最近 90 天及此前 90 天的活跃度均不低于 0.75" in html


def test_leaders_filtered_by_department_match_the_mart(client, library):
    url = library["url"]
    department = scalar(
        url,
        "select department from marts.opinion_leaders group by 1 order by count(*) desc limit 1",
    )
    everyone = csv_rows(client, "/leaders?download=leaders")
    theirs = csv_rows(client, f"/leaders?department={department}&download=leaders")
    expected = scalar(
        url,
        "select count(*) from marts.opinion_leaders where department = %(d)s",
        {"d": department},
    )
    assert len(theirs) == expected < len(everyone)
    assert {r["department"] for r in theirs} == {department}
    html = client.get(f"/leaders?department={department}").text
    assert all(r["user_key"][:8] in html for r in theirs)


def test_leaders_are_paged_keeping_the_filter_and_every_leader_is_on_a_page(
    client, library, monkeypatch
):
    url = library["url"]
    department = scalar(
        url,
        "select u.department from marts.opinion_leaders join marts.dim_users as u"
        " using (user_key) group by 1 order by count(*) desc limit 1",
    )
    with psycopg.connect(url) as conn:
        expected = [
            key
            for (key,) in conn.execute(
                "select o.user_key from marts.opinion_leaders as o join marts.dim_users as u"
                " using (user_key) where u.department = %s order by o.rank",
                [department],
            )
        ]
    per_page = 3
    assert len(expected) > 2 * per_page  # three pages at least: first, middle and last
    monkeypatch.setattr(leaders_page, "LEADERS_PER_PAGE", per_page)
    seen, pages, path = [], 0, f"/leaders?{urlencode({'department': department})}"
    while path:
        page = client.get(path, cookies={"libcrm_lang": "en"}).text
        shown = re.findall(r'<a class="reader" href="/readers/([0-9a-f]+)"', page)
        assert 0 < len(shown) <= per_page
        seen += shown
        pages += 1
        following = re.search(r'<a href="\?([^"]+)" rel="next">', page)
        path = following and "/leaders?" + html.unescape(following.group(1))
        assert pages <= len(expected)
    assert seen == expected
    assert pages == -(-len(expected) // per_page)
    assert f"of {len(expected)} (the download holds them all)" in page
    download = csv_rows(client, f"/leaders?{urlencode({'department': department})}"
                                "&download=leaders")  # fmt: skip
    assert [row["user_key"] for row in download] == expected
    past_the_end = client.get(f"/leaders?{urlencode({'department': department, 'page': 999})}")
    last = re.findall(r'<a class="reader" href="/readers/([0-9a-f]+)"', past_the_end.text)
    assert last == expected[(pages - 1) * per_page :]


def test_leaderboards_show_the_final_and_the_current_board(client, library):
    url = library["url"]
    final = scalar(url, "select max(quarter) from marts.leaderboard_quarterly where is_final")
    current = scalar(url, "select max(quarter) from marts.leaderboard_quarterly where not is_final")
    html = client.get("/leaderboards", cookies={"libcrm_lang": "en"}).text
    assert f"Final board of {final}" in html
    rows = csv_rows(client, "/leaderboards?download=final_loans")
    expected = scalar(
        url,
        "select count(*) from marts.leaderboard_quarterly"
        " where quarter = %(q)s and metric = 'loans'",
        {"q": final},
    )
    assert len(rows) == expected > 0
    if current:
        assert csv_rows(client, "/leaderboards?download=current_loans") is not None
    category = rows[0]["category"]
    theirs = csv_rows(client, f"/leaderboards?category={category}&download=final_loans")
    assert 0 < len(theirs) <= len(rows) and {r["category"] for r in theirs} == {category}
