"""The opinion leaders page names the subjects each leader leads in (the CLC classes of the
works their followers took up after them, marts.opinion_leaders.subjects), not the classes
the leader borrows most: a class they only borrow in is never shown as one they lead in."""

from __future__ import annotations

import csv
import html
import io
import re

import psycopg
import pytest

from libcrm.workspace import i18n, vocabulary
from libcrm.workspace.pages.leaders import LEADERS_PER_PAGE
from tests import workspace_support as ws

# The first leader by rank who leads in a class they do not borrow most in themselves, and
# borrows most in a class their followers did not take up from them.
LEADER = """
select o.rank, o.user_key, o.subjects,
    (select min(c) from unnest(string_to_array(o.subjects, ',')) as c
     where c <> all(string_to_array(p.top_clc_classes, ','))) as led_only,
    (select min(c) from unnest(string_to_array(p.top_clc_classes, ',')) as c
     where c <> all(string_to_array(o.subjects, ','))) as borrowed_only
from marts.opinion_leaders as o
join marts.user_profiles as p using (user_key)
where o.subjects is not null
order by (
    string_to_array(o.subjects, ',') <@ string_to_array(p.top_clc_classes, ',')
    or string_to_array(p.top_clc_classes, ',') <@ string_to_array(o.subjects, ',')
), o.rank
limit 1
"""
TAG = re.compile(r"<[^>]+>")


@pytest.fixture(scope="module")
def http(workspace, library_warehouse):
    """A signed-in librarian's client of the workspace served on loopback."""
    ws.make_account(library_warehouse["url"], "leaders.page", "librarian")
    with ws.client(workspace) as client:
        assert ws.sign_in(client, "leaders.page").status_code == 303
        yield client


@pytest.fixture(scope="module")
def leader(library_warehouse) -> dict:
    with psycopg.connect(library_warehouse["url"]) as conn:
        cursor = conn.execute(LEADER)
        row = dict(zip([c.name for c in cursor.description], cursor.fetchone(), strict=True))
    assert row["led_only"] and row["borrowed_only"], "the simulated library has no such leader"
    return row


def _text(cell: str) -> str:
    return html.unescape(TAG.sub("", cell)).strip()


def leader_row(page: str, user_key: str) -> dict[str, str]:
    """The cells of the leaders table's row of ``user_key``, by column heading."""
    table = next(t for t in page.split("<table") if f'href="/readers/{user_key}"' in t)
    headings = [_text(h) for h in re.findall(r"<th>(.*?)</th>", table, re.S)]
    row = next(r for r in table.split("<tr") if f'href="/readers/{user_key}"' in r)
    cells = [_text(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return dict(zip(headings, cells, strict=True))


@pytest.mark.parametrize(
    ("language", "heading"),
    [("en", "Subjects they lead in (CLC)"), ("zh", "引领的学科（中图法）")],
)
def test_a_leader_is_shown_with_the_subjects_they_lead_in(http, leader, language, heading):
    number = (leader["rank"] - 1) // LEADERS_PER_PAGE + 1
    http.cookies.set(i18n.LANGUAGE_COOKIE, language)
    answer = http.get("/leaders", params={"page": number})
    assert answer.status_code == 200
    row = leader_row(answer.text, leader["user_key"])
    with i18n.use(language):
        led = [vocabulary.clc_name(code) for code in leader["subjects"].split(",")]
        led_only = vocabulary.clc_name(leader["led_only"])
        borrowed_only = vocabulary.clc_name(leader["borrowed_only"])
    assert row[heading] == ", ".join(led)
    assert led_only in row[heading]
    assert borrowed_only not in row[heading]


def test_the_subject_chart_counts_the_leaders_of_each_subject_they_lead_in(http, library_warehouse):
    http.cookies.set(i18n.LANGUAGE_COOKIE, "en")
    answer = http.get("/leaders", params={"download": "subjects"})
    assert answer.status_code == 200
    shown = {
        row["clc_class"]: int(row["leaders"])
        for row in csv.DictReader(io.StringIO(answer.text.lstrip("\ufeff")))
    }
    with psycopg.connect(library_warehouse["url"]) as conn:
        expected = dict(
            conn.execute(
                "select c, count(*) from marts.opinion_leaders,"
                " unnest(string_to_array(subjects, ',')) as c group by c"
            ).fetchall()
        )
    with i18n.use("en"):
        assert shown == {vocabulary.clc_name(code): n for code, n in expected.items()}
