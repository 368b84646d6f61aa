"""More like this (portal.similar_items): works like each work by the night's model, at the
work level, published with the other portal tables."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import psycopg
import pytest
from scipy import sparse

from recsys import nightly, similar
from recsys.candidates import BY_NAME
from recsys.models import Als, Popularity
from recsys.rerank import Diversified
from tests import marts_support
from tests.test_recsys_nightly import DAY, MARTS, SMALL_LIBRARY
from tests.test_recsys_works import GUIDE, _library


def _clustered(rng, clusters=3, per_cluster=20, users_per_cluster=40, loans=8):
    """Readers of each cluster borrow only that cluster's works."""
    rows, columns = [], []
    for cluster in range(clusters):
        for user in range(users_per_cluster):
            picks = rng.choice(per_cluster, loans, replace=False) + cluster * per_cluster
            rows += [cluster * users_per_cluster + user] * loans
            columns += picks.tolist()
    shape = (clusters * users_per_cluster, clusters * per_cluster)
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, columns)), shape=shape)


def test_als_finds_works_of_the_same_cluster_never_itself_nor_a_blocked_one():
    matrix = _clustered(np.random.default_rng(0))
    blocked = np.zeros(matrix.shape[1], dtype=bool)
    blocked[[3, 25]] = True
    model = Diversified(Als(factors=8, regularization=0.1, random_state=1), np.full(60, -1), 6)
    found = similar.similar_works(model.fit(matrix), "als-binary", matrix, blocked)
    assert found.model == "als-binary" and found.targets.shape == (60, similar.SIMILAR_N)
    same_cluster = found.targets // 20 == found.sources[:, None] // 20
    assert same_cluster.mean() > 0.95
    assert not (found.targets == found.sources[:, None]).any()
    assert not np.isin(found.targets, [3, 25]).any()
    assert (np.diff(found.scores, axis=1) <= 0).all()  # best first


def test_als_suggests_only_the_most_read_works_beyond_the_bound(monkeypatch):
    matrix = _clustered(np.random.default_rng(2))
    model = Als(factors=8, regularization=0.1, random_state=1).fit(matrix)
    monkeypatch.setattr(similar, "SIMILAR_TARGETS", 24)
    found = similar.similar_works(model, "als-binary", matrix, np.zeros(60, dtype=bool))
    readers = np.diff(matrix.tocsc().indptr)
    most_read = np.lexsort((np.arange(60), -readers))[:24]
    assert set(found.targets[np.isfinite(found.scores)].tolist()) <= set(most_read.tolist())
    assert len(found.sources) == 60  # every work still gets a list


def test_a_popularity_night_lists_co_borrowed_works_by_the_neighbours_candidate():
    matrix = _clustered(np.random.default_rng(1))
    model = Diversified(Popularity(), np.full(60, -1), 6).fit(matrix)
    found = similar.similar_works(model, "popularity", matrix, np.zeros(60, dtype=bool))
    assert found.model == similar.NEIGHBOURS_NAME
    valid = np.isfinite(found.scores)
    assert valid.sum(axis=1).min() == similar.SIMILAR_N
    assert (found.targets // 20 == found.sources[:, None] // 20)[valid].all()


@pytest.fixture(scope="module")
def published(warehouse_url):
    users, items, loans, stages = _library()
    with psycopg.connect(warehouse_url) as conn:
        marts_support.fill(
            conn,
            MARTS,
            {"dim_users": users, "dim_items": items, "fct_loans": loans, "user_profiles": stages},
            users,
        )
    work = {row[0]: row[5] for row in items}
    lendable = {row[0] for row in items if row[4]}
    out = {}
    for name in ("als-binary", "popularity"):
        candidates = (BY_NAME["popularity"],) + ((BY_NAME[name],) if name != "popularity" else ())
        result = nightly.run(DAY, name, warehouse_url, SMALL_LIBRARY, candidates)
        with psycopg.connect(warehouse_url) as conn:
            rows = conn.execute(
                "select item_id, rank, similar_item_id, score, generated_for, model_version "
                "from portal.similar_items order by item_id, rank"
            ).fetchall()
            nights = conn.execute(
                "select distinct generated_for from portal.resource_recommendations"
            ).fetchall()
        out[name] = {"result": result, "rows": rows, "nights": nights}
    return {"runs": out, "work": work, "lendable": lendable}


@pytest.mark.parametrize("name", ["als-binary", "popularity"])
def test_every_copy_gets_its_works_list_of_other_lendable_works(published, name):
    run = published["runs"][name]
    result, rows, work = run["result"], run["rows"], published["work"]
    assert rows and result.similar_rows_published == len(rows)
    lists = defaultdict(list)
    for item, _, other, _, night, version in rows:
        lists[item].append(other)
        assert night == DAY and version == result.similar_model_version
        assert work[other] != work[item]  # never the work itself, by any of its copies
        assert other in published["lendable"] and other != "N1"  # the lost copy never
    assert all(len(others) == len(set(map(work.get, others))) for others in lists.values())
    assert all(len(others) <= similar.SIMILAR_N for others in lists.values())
    # The four copies of the guide share one list; the novel's lost copy still has its page.
    assert lists["G1"] == lists["G2"] == lists["G3"] == lists["G4"] and lists["N1"] == lists["N2"]
    assert not set(lists["B00"]) & set(GUIDE[1:])  # other works show the guide once, as G1
    assert run["nights"] == [(DAY,)]


def test_the_list_names_the_model_that_made_it(published):
    als, popular = published["runs"]["als-binary"], published["runs"]["popularity"]
    assert popular["result"].published_model == "popularity"
    assert popular["result"].similar_model_version == "item-neighbours-20260318"
    assert als["result"].published_model == "als-binary", als["result"].gate
    assert als["result"].similar_model_version == "als-binary-20260318"
