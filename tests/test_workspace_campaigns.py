"""Audiences and campaigns in the workspace, on a real server on loopback: the builder's live
count, saving, launching, the measured result in words, and the audited contact export that
only outreach reaches."""

from __future__ import annotations

import csv
import html
import io
import re
from contextlib import contextmanager
from datetime import timedelta

import psycopg
import pytest

from libcrm.crm import audiences
from libcrm.crm.stats import difference_interval
from tests import workspace_support as ws
from tests.test_workspace_security import personal_values

# Growth or short-term readers who are not undergraduates, as the builder's form sends it.
FORM = {
    "all-rows": "1",
    "all-0-field": "segment",
    "all-0-op": "in",
    "all-0-value": "Growth reader, short_term",
    "any-rows": "0",
    "exclude-rows": "1",
    "exclude-0-field": "category",
    "exclude-0-op": "eq",
    "exclude-0-value": "本科生",
}
DEFINITION = {
    "all": [{"field": "segment", "op": "in", "value": ["growth", "short_term"]}],
    "exclude": [{"field": "category", "op": "eq", "value": "undergraduate"}],
}


@contextmanager
def signed_in(base: str, url: str, username: str, role: str, language: str = "en"):
    """A client signed in as a (new) account of ``role``, in ``language``."""
    ws.make_account(url, username, role)
    with ws.client(base, cookies={"libcrm_lang": language}) as http:
        assert ws.sign_in(http, username).status_code == 303
        yield http


def save_audience(http, name: str) -> int:
    token = ws.csrf_of(http, "/audiences/new")
    saved = http.post("/audiences/new", data={**FORM, "name": name, "csrf_token": token})
    assert saved.status_code == 303, saved.text
    return int(saved.headers["location"].rsplit("/", 1)[1])


def launched_campaign(http, audience_id: int, name: str) -> int:
    token = ws.csrf_of(http, "/campaigns")
    start = ws.LAST_NIGHT + timedelta(days=1)
    created = http.post(
        "/campaigns",
        data={
            "csrf_token": token,
            "name": name,
            "audience_id": str(audience_id),
            "goal_kind": "borrow_any",
            "window_start": start.isoformat(),
            "window_end": (start + timedelta(days=27)).isoformat(),
            "control_percent": "20",
        },
    )
    assert created.status_code == 303, created.text
    campaign_id = int(re.search(r"/campaigns/(\d+)", created.headers["location"]).group(1))
    launched = http.post(f"/campaigns/{campaign_id}/launch", data={"csrf_token": token})
    assert launched.status_code == 303, launched.text
    return campaign_id


def group_sizes(url: str, campaign_id: int) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) filter (where not in_control), count(*) filter (where in_control)"
            " from workspace.campaign_members where campaign_id = %s",
            [campaign_id],
        ).fetchone()


def exports(url: str, campaign_id: int) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select username, reason, row_count from workspace.audit_log"
            " where action = 'export_contacts' and detail ->> 'campaign_id' = %s",
            [str(campaign_id)],
        ).fetchall()


@pytest.fixture(scope="module")
def campaign(workspace, library_warehouse):
    """A saved audience and a campaign launched on it by a librarian."""
    url = library_warehouse["url"]
    with signed_in(workspace, url, "campaign.librarian", "librarian") as http:
        audience_id = save_audience(http, "Readers to cultivate")
        return {"audience": audience_id, "campaign": launched_campaign(http, audience_id, "Spring")}


def test_the_live_count_is_the_audience_count_of_the_same_definition(workspace, library_warehouse):
    url = library_warehouse["url"]
    with psycopg.connect(url) as conn:
        expected = audiences.count(conn, DEFINITION)
        everyone = audiences.count(conn, {})
    assert 0 < expected < everyone
    for language, text in (("en", f"{expected} readers"), ("zh", f"{expected} 名读者")):
        with signed_in(workspace, url, "count.check", "librarian", language) as http:
            token = ws.csrf_of(http, "/audiences/new")
            answer = http.post(
                "/audiences/count", data=FORM, headers={"x-csrf-token": token}
            ).json()
        assert answer == {"count": expected, "text": text}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"all-0-field": "library_hours", "all-0-op": "eq", "all-0-value": "3"}, "takes gte, lte"),
        ({"all-0-field": "cohort", "all-0-op": "eq", "all-0-value": "2024'; drop"}, "whole number"),
        ({"all-0-field": "segment", "all-0-op": "eq", "all-0-value": "gold"}, "'gold' is not a"),
    ],
)
def test_an_invalid_definition_answers_a_message_not_an_error(
    workspace, library_warehouse, row, message
):
    with signed_in(workspace, library_warehouse["url"], "count.check", "librarian") as http:
        token = ws.csrf_of(http, "/audiences/new")
        answer = http.post("/audiences/count", data={"all-rows": "1", **row, "csrf_token": token})
        assert answer.status_code == 200
        assert "count" not in answer.json() and message in answer.json()["text"]
        saved = http.post("/audiences/new", data={"all-rows": "1", **row, "name": "x",
                                                  "csrf_token": token})  # fmt: skip
        assert saved.status_code == 400 and message in html.unescape(saved.text)


def test_the_add_row_button_gives_one_more_row_without_saving(workspace, library_warehouse):
    url = library_warehouse["url"]
    with signed_in(workspace, url, "rows.check", "librarian") as http:
        token = ws.csrf_of(http, "/audiences/new")
        form = {**FORM, "name": "not saved", "add": "exclude", "csrf_token": token}
        page = http.post("/audiences/new", data=form)
    assert page.status_code == 200
    assert 'name="exclude-1-field"' in page.text and 'value="本科生"' in page.text
    with psycopg.connect(url) as conn:
        assert not conn.execute(
            "select 1 from workspace.audiences where name = 'not saved'"
        ).fetchone()


def test_a_saved_audience_is_listed_with_its_members_and_no_personal_data(
    workspace, library_warehouse, campaign
):
    url = library_warehouse["url"]
    with psycopg.connect(url) as conn:
        members = conn.execute(
            "select count(*) from workspace.audience_members where audience_id = %s and night = %s",
            [campaign["audience"], ws.LAST_NIGHT],
        ).fetchone()[0]
        assert members == audiences.count(conn, DEFINITION)
    secrets = personal_values(url)
    with signed_in(workspace, url, "list.check", "librarian") as http:
        listed = http.get("/audiences")
        assert "Readers to cultivate" in listed.text
        row = re.search(r"Readers to cultivate</a></td>\s*<td>([\d,]+)</td>", listed.text)
        assert int(row.group(1).replace(",", "")) == members
        page = http.get(f"/audiences/{campaign['audience']}")
        assert page.status_code == 200 and "Growth reader, Short-term reader" in page.text
        download = http.get(f"/audiences/{campaign['audience']}", params={"download": "members"})
        assert len(list(csv.reader(io.StringIO(download.text)))) == members + 1
        for body in (listed.text, page.text, download.text):
            assert not [value for value in secrets if value in body]
    with ws.client(workspace) as stranger:
        assert stranger.get(f"/audiences/{campaign['audience']}").status_code == 303


def test_a_launched_campaign_shows_its_group_sizes(workspace, library_warehouse, campaign):
    url = library_warehouse["url"]
    contacted, control = group_sizes(url, campaign["campaign"])
    assert contacted > control > 0
    with signed_in(workspace, url, "sizes.check", "librarian") as http:
        page = http.get(f"/campaigns/{campaign['campaign']}").text
    assert f"Contacted</th><td><strong>{contacted:,}</strong>" in page
    assert f"Control group</th><td><strong>{control:,}</strong>" in page
    assert "Only outreach accounts may export" in page and 'name="reason"' not in page


def test_outreach_exports_the_contacted_minus_opted_out_with_one_audit_row(
    workspace, library_warehouse, campaign
):
    url = library_warehouse["url"]
    campaign_id = campaign["campaign"]
    contacted, _control = group_sizes(url, campaign_id)
    with psycopg.connect(url) as conn:  # one contacted reader opts out after the launch
        opted = conn.execute(
            "update raw.patrons set opt_out = true where (user_key, batch_id, source_line) = ("
            " select p.user_key, p.batch_id, p.source_line from raw.patrons as p"
            " join workspace.campaign_members as m on m.user_key = p.user_key"
            " where m.campaign_id = %s and not m.in_control"
            " order by p.user_key, p.batch_id desc, p.source_line desc limit 1)"
            " returning user_key",
            [campaign_id],
        ).fetchone()
    assert opted
    try:
        with signed_in(workspace, url, "campaign.outreach", "outreach") as http:
            token = ws.csrf_of(http, f"/campaigns/{campaign_id}")
            assert 'name="reason"' in http.get(f"/campaigns/{campaign_id}").text
            answer = http.post(
                f"/campaigns/{campaign_id}/contacts",
                data={"csrf_token": token, "reason": "spring reading letter"},
            )
            page = http.get(f"/campaigns/{campaign_id}").text
    finally:
        with psycopg.connect(url) as conn:
            conn.execute("update raw.patrons set opt_out = false where user_key = %s", [opted[0]])
    assert answer.status_code == 200
    assert answer.headers["content-disposition"].startswith("attachment")
    rows = list(csv.reader(io.StringIO(answer.text.lstrip("\ufeff"))))
    assert rows[0] == ["name", "email", "card"]
    assert len(rows) - 1 == contacted - 1
    assert all("@" in email for _name, email, _card in rows[1:])
    assert exports(url, campaign_id) == [
        ("campaign.outreach", "spring reading letter", contacted - 1)
    ]
    assert "spring reading letter" in page


def test_a_librarian_or_a_form_without_csrf_cannot_export(workspace, library_warehouse, campaign):
    url = library_warehouse["url"]
    campaign_id = campaign["campaign"]
    before = exports(url, campaign_id)
    with signed_in(workspace, url, "export.librarian", "librarian") as http:
        token = ws.csrf_of(http, f"/campaigns/{campaign_id}")
        refused = http.post(
            f"/campaigns/{campaign_id}/contacts", data={"csrf_token": token, "reason": "try"}
        )
        assert refused.status_code == 403 and "@" not in refused.text
    with signed_in(workspace, url, "campaign.outreach", "outreach") as http:
        forged = http.post(f"/campaigns/{campaign_id}/contacts", data={"reason": "forged"})
        assert forged.status_code == 403
        no_reason = http.post(
            f"/campaigns/{campaign_id}/contacts",
            data={"csrf_token": ws.csrf_of(http, "/campaigns"), "reason": " "},
        )
        assert no_reason.status_code == 400
        forged_audience = http.post("/audiences/new", data={**FORM, "name": "forged"})
        assert forged_audience.status_code == 403
    assert exports(url, campaign_id) == before


@pytest.mark.parametrize(
    ("control_reached", "english", "chinese"),
    [
        (10, "The difference could be chance.", "这一差异可能出于偶然。"),
        (2, "The campaign very likely helped.", "营销活动很可能起到了促进作用。"),
    ],
)
def test_the_result_is_worded_in_english_and_chinese(
    workspace, library_warehouse, campaign, control_reached, english, chinese
):
    url = library_warehouse["url"]
    night = ws.LAST_NIGHT + timedelta(days=3)
    interval = difference_interval(128, 312, control_reached, 35)
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into workspace.campaign_results (campaign_id, night, contacted,"
            " contacted_reached, control, control_reached, difference, ci_low, ci_high)"
            " values (%s, %s, 312, 128, 35, %s, %s, %s, %s) on conflict (campaign_id, night)"
            " do update set control_reached = excluded.control_reached,"
            " difference = excluded.difference, ci_low = excluded.ci_low,"
            " ci_high = excluded.ci_high",
            [campaign["campaign"], night, control_reached, *interval],
        )
    share = f"{control_reached / 35:.0%}"
    points = round(interval[0] * 100)
    for language, expected in (
        ("en", f"Of the 312 contacted readers, 41% borrowed a book in the window, against "
               f"{share} of the 35 in the control group: {points} points more (95% interval "),
        ("zh", f"在 312 名触达读者中，41% 在营销活动期内借阅了图书；对照组 35 人中这一比例为 "
               f"{share}：高 {points} 个百分点（95% 置信区间为 "),
    ):  # fmt: skip
        with signed_in(workspace, url, "result.check", "librarian", language) as http:
            page = http.get(f"/campaigns/{campaign['campaign']}").text
        assert expected in page
        assert (english if language == "en" else chinese) in page


# Direct counts, with the workspace's filters on dim_users written out here.
NONE_CHOSEN = {"department": None, "category": None, "cohort": None}
DIRECT_MEMBERS = """
select count(*) from workspace.audience_members as m
join marts.dim_users as u using (user_key)
where m.audience_id = %(a)s and m.night = (select max(night) from workspace.audience_members)
    and (%(department)s::text is null or u.department = %(department)s)
    and (%(category)s::text is null or u.category = %(category)s)
    and (%(cohort)s::integer is null or u.enrolled_year = %(cohort)s)
"""
DIRECT_SIZES = """
select count(*) filter (where not m.in_control), count(*) filter (where m.in_control)
from workspace.campaign_members as m
join marts.dim_users as u using (user_key)
where m.campaign_id = %(c)s
    and (%(department)s::text is null or u.department = %(department)s)
    and (%(category)s::text is null or u.category = %(category)s)
    and (%(cohort)s::integer is null or u.enrolled_year = %(cohort)s)
"""


def _csv(http, path: str, params: dict) -> list[dict]:
    answer = http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return list(csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff"))))


def test_the_lists_count_members_as_a_direct_count_under_every_filter(
    workspace, library_warehouse, campaign
):
    url = library_warehouse["url"]
    with psycopg.connect(url) as conn:
        department, category, cohort = conn.execute(
            "select u.department, u.category, u.enrolled_year from workspace.campaign_members"
            " as m join marts.dim_users as u using (user_key) where m.campaign_id = %s"
            " group by 1, 2, 3 order by count(*) desc limit 1",
            [campaign["campaign"]],
        ).fetchone()
    choices = [
        {},
        {"department": department},
        {"category": category},
        {"cohort": cohort},
        {"department": department, "category": category, "cohort": cohort},
    ]
    with signed_in(workspace, url, "counts.check", "librarian") as http:
        for chosen in choices:
            with psycopg.connect(url) as conn:
                params = {**NONE_CHOSEN, **chosen}
                members = conn.execute(
                    DIRECT_MEMBERS, {**params, "a": campaign["audience"]}
                ).fetchone()[0]
                sizes = conn.execute(DIRECT_SIZES, {**params, "c": campaign["campaign"]}).fetchone()
            assert members > 0 and sizes[0] > 0, chosen
            listed = _csv(http, "/audiences", {**chosen, "download": "audiences"})
            row = next(r for r in listed if r["audience_id"] == str(campaign["audience"]))
            assert int(row["members"]) == members, chosen
            listed = _csv(http, "/campaigns", {**chosen, "download": "campaigns"})
            row = next(r for r in listed if r["campaign_id"] == str(campaign["campaign"]))
            assert (int(row["contacted"]), int(row["control"])) == sizes, chosen
