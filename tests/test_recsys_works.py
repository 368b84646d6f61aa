"""Copies of one work are one item: trained on together, recommended once, as a copy that can
be lent, and never to a reader who had any copy of it."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import jinja2
import numpy as np
import psycopg
import pytest

from recsys import nightly, resources
from recsys.candidates import BY_NAME
from recsys.warehouse import read_catalogue
from tests import marts_support
from tests.test_recsys_nightly import DAY, MARTS, SMALL_LIBRARY

GUIDE = ("G1", "G2", "G3", "G4")  # four copies of one exam guide
NOVEL = ("N1", "N2")  # two copies of a novel; N1, the work's name, is lost


def _library():
    """60 readers in two departments reading 20 books each; u00-u39 borrowed one copy each of
    the exam guide (10 loans a copy, 40 for the work: more than any single book), u00-u09 the
    novel (copy N1, since lost)."""
    rng = np.random.default_rng(3)
    users = [(f"u{n:02d}", ("Physics", "History")[n % 2], False) for n in range(60)]
    items = [
        (f"B{n:02d}", f"Book {n}", "A", "O" if n < 20 else "K", True, f"B{n:02d}")
        for n in range(40)
    ]
    items += [(copy, "Exam guide", "Li Wei", "H", True, "G1") for copy in GUIDE]
    items += [("N1", "Novel", "Wang", "I", False, "N1"), ("N2", "Novel", "Wang", "I", True, "N1")]
    weights = 1.0 / np.arange(1, 21)
    weights /= weights.sum()
    loans = []
    for n, (user, _, _) in enumerate(users):
        base = 0 if n % 2 == 0 else 20
        picks = [f"B{base + k:02d}" for k in rng.choice(20, 6, replace=False, p=weights)]
        picks += [GUIDE[n % 4]] if n < 40 else []
        picks += ["N1"] if n < 10 else []
        for k, item in enumerate(picks):
            moment = datetime(2026, 1, 12) + timedelta(days=int(rng.integers(0, 64)), hours=k)
            loans.append((user, item, moment, True))
    stages = [(user, "active") for user, _, _ in users]
    return users, items, loans, stages


@pytest.fixture(scope="module")
def library(warehouse_url):
    users, items, loans, stages = _library()
    with psycopg.connect(warehouse_url) as conn:
        marts_support.fill(
            conn,
            MARTS,
            {"dim_users": users, "dim_items": items, "fct_loans": loans, "user_profiles": stages},
            users,
        )
        catalogue = read_catalogue(conn)
    work = {row[0]: row[5] for row in items}
    had = defaultdict(set)
    for user, item, _, _ in loans:
        had[user].add(work[item])
    return {"url": warehouse_url, "catalogue": catalogue, "work": work, "had": had}


def _lists(rows):
    out = defaultdict(list)
    for user, _, item, _, _ in sorted(rows, key=lambda row: (row[0], row[1])):
        out[user].append(item)
    return out


@pytest.mark.parametrize("candidate", ["popularity", "als-blend"])
def test_a_work_appears_once_per_list_and_never_to_a_reader_of_any_copy(library, candidate):
    published = resources.recommend(library["catalogue"], DAY, BY_NAME[candidate])
    lists = _lists(published.rows)
    assert len(lists) == 60
    for user, shown in lists.items():
        works = [library["work"][item] for item in shown]
        assert len(works) == len(set(works)), f"{user} got two copies of one work: {shown}"
        assert not set(works) & library["had"][user], f"{user} got a work they had: {shown}"
    # Only copies that can be lent are shown: the novel as N2, never its lost copy N1.
    every = {item for shown in lists.values() for item in shown}
    assert "N1" not in every and every <= {row for row in library["work"]} - {"N1"}


def test_the_loans_of_every_copy_count_for_the_work(library):
    """Ten loans a copy would leave the guide below the most read books; forty for the work
    put it first on the most-borrowed list of every reader who has not had it."""
    lists = _lists(resources.recommend(library["catalogue"], DAY, BY_NAME["popularity"]).rows)
    newcomers = [f"u{n:02d}" for n in range(40, 60)]
    assert all(lists[user][0] == "G1" for user in newcomers)
    assert not {item for shown in lists.values() for item in shown} & {"G2", "G3", "G4"}
    assert "G1" not in {item for user in lists if user < "u40" for item in lists[user]}


def test_the_portal_gets_copies_it_can_look_up(library):
    nightly.run(DAY, "works", library["url"], SMALL_LIBRARY, (BY_NAME["popularity"],))
    with psycopg.connect(library["url"]) as conn:
        rows = conn.execute(
            "select r.patron_id, r.item_id, i.work_id, i.is_recommendable "
            "from portal.resource_recommendations as r "
            "left join marts.dim_items as i on r.item_id = i.item_id"
        ).fetchall()
    assert rows and all(row[3] for row in rows)  # every id is a copy that can be lent now
    per_patron = defaultdict(list)
    for patron, _, work, _ in rows:
        per_patron[patron].append(work)
    assert all(len(works) == len(set(works)) for works in per_patron.values())


def _work_key_sql(title: str, author: str) -> str:
    """The dbt macro ``work_key`` applied to two columns, rendered as dbt renders it."""
    source = (Path(__file__).parent.parent / "dbt_project" / "macros" / "work_key.sql").read_text()
    module = jinja2.Environment(autoescape=False).from_string(source).module  # noqa: S701
    return str(module.work_key(title, author))


def test_copies_written_differently_are_one_work_and_other_authors_another(warehouse_url):
    copies = [
        ("The Three-Body Problem", "Liu Cixin"),
        ("  the three-body   problem ", "LIU  Cixin"),
        ("Ｔｈｅ Ｔｈｒｅｅ-Ｂｏｄｙ Ｐｒｏｂｌｅｍ", "Liu Cixin"),  # full-width letters
        ("三体", "刘慈欣"),
        ("三体 ", " 刘慈欣"),
    ]
    others = [("The Three-Body Problem", "Ken Liu"), ("The Three-Body Problem", None)]
    with psycopg.connect(warehouse_url) as conn:
        keys = [
            conn.execute(
                f"select {_work_key_sql('%s::text', '%s::text')}",  # noqa: S608
                list(pair),
            ).fetchone()[0]
            for pair in copies + others
        ]
    assert keys[0] == keys[1] == keys[2] and keys[3] == keys[4] and keys[0] != keys[3]
    assert len({keys[0], *keys[5:]}) == 3
