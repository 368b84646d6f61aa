"""Recommender behaviour on tiny seeded data."""

from __future__ import annotations

from datetime import datetime

import numpy as np
from scipy import sparse

from recsys import interactions
from recsys.blend import Blend
from recsys.evaluate import holdout, random_split, ranking_metrics, recommend_all
from recsys.interactions import exclude_same_work
from recsys.models import Als, GroupPopularity, Popularity
from recsys.rerank import Diversified, cap_per_class


def _clustered(users_per_cluster=30, items_per_cluster=20, clusters=3, seed=7):
    """Users read mostly within their cluster's items."""
    rng = np.random.default_rng(seed)
    rows, cols = [], []
    for cluster in range(clusters):
        for u in range(users_per_cluster):
            user = cluster * users_per_cluster + u
            picks = (
                rng.choice(items_per_cluster, size=6, replace=False) + cluster * items_per_cluster
            )
            rows += [user] * len(picks)
            cols += list(picks)
    shape = (clusters * users_per_cluster, clusters * items_per_cluster)
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)


def _no_exclusions(matrix):
    return sparse.csr_matrix(matrix.shape, dtype=bool), np.zeros(matrix.shape[1], dtype=bool)


def test_als_recommends_within_the_users_taste_cluster():
    matrix = _clustered()
    model = Als(factors=8, iterations=10, random_state=1).fit(matrix)
    ids, _ = model.recommend(np.array([0, 35, 70]), 5, (matrix > 0).tocsr(), np.zeros(60, bool))
    assert (ids[0] < 20).all() and ((ids[1] >= 20) & (ids[1] < 40)).all() and (ids[2] >= 40).all()


def test_already_borrowed_and_blocked_items_never_appear():
    matrix = _clustered()
    blocked = np.zeros(60, dtype=bool)
    blocked[[1, 2, 3]] = True
    model = Als(factors=8, iterations=10, random_state=1).fit(matrix)
    rows = np.arange(matrix.shape[0])
    ids, scores = recommend_all(model, rows, 10, (matrix > 0).tocsr(), blocked)
    for row in rows:
        shown = set(ids[row][np.isfinite(scores[row])])
        assert not shown & set(matrix[row].indices)
        assert not shown & {1, 2, 3}


def test_n_larger_than_the_catalogue_pads_with_empty_slots():
    matrix = sparse.csr_matrix(np.array([[1, 0, 0], [0, 1, 1]], dtype=np.float32))
    exclude, blocked = _no_exclusions(matrix)
    ids, scores = (
        Popularity().fit(matrix).recommend(np.array([0]), 10, (matrix > 0).tocsr(), blocked)
    )
    assert ids.shape == (1, 3)
    assert set(ids[0][np.isfinite(scores[0])]) == {1, 2}


def test_popularity_ranks_by_borrow_count():
    matrix = sparse.csr_matrix(
        np.array([[1, 1, 0], [0, 1, 0], [0, 1, 1], [0, 0, 1]], dtype=np.float32)
    )
    exclude, blocked = _no_exclusions(matrix)
    ids, _ = Popularity().fit(matrix).recommend(np.array([0]), 3, exclude, blocked)
    assert list(ids[0]) == [1, 2, 0]


def test_held_out_item_of_a_cluster_scores_a_hit_and_beats_popularity():
    matrix = _clustered().tolil()
    test = sparse.lil_matrix(matrix.shape, dtype=np.float32)
    rng = np.random.default_rng(3)
    for user in range(matrix.shape[0]):
        held = rng.choice(matrix.rows[user])
        matrix[user, held] = 0
        test[user, held] = 1
    train, test = matrix.tocsr(), test.tocsr()
    train.eliminate_zeros()
    blocked = np.zeros(train.shape[1], dtype=bool)
    als = holdout(Als(factors=8, iterations=10, random_state=1), train, test, blocked)
    popular = holdout(Popularity(), train, test, blocked)
    assert als.users_evaluated == popular.users_evaluated == 90
    assert als.hit_rate_at_10 > popular.hit_rate_at_10
    assert als.ndcg_at_10 > popular.ndcg_at_10


def test_ranking_metrics_on_a_known_ranking():
    test = sparse.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 1]], dtype=np.int8))
    recommended = np.array([[1, 2, 3], [0, 2, 1]])
    metrics = ranking_metrics(
        recommended, np.ones_like(recommended, bool), test, np.array([0, 1]), 4
    )
    assert metrics.hit_rate_at_10 == 0.5
    assert metrics.precision_at_10 == 0.05
    assert metrics.ndcg_at_10 == 0.5
    assert metrics.coverage == 1.0


def test_build_sums_duplicates_and_keeps_fixed_axes():
    data = interactions.build(
        np.array(["u2", "u1", "u1"]),
        np.array(["b", "a", "a"]),
        np.array([1.0, 1.0, 2.0]),
        all_users=np.array(["u1", "u2", "u3"]),
        all_items=np.array(["a", "b", "c"]),
    )
    assert list(data.users) == ["u1", "u2", "u3"] and list(data.items) == ["a", "b", "c"]
    assert data.matrix.toarray().tolist() == [[3, 0, 0], [0, 1, 0], [0, 0, 0]]


def test_decay_halves_weight_each_half_life():
    now = datetime(2026, 3, 17)
    times = np.array(["2026-03-17T00:00:00", "2025-09-18T00:00:00"], dtype="datetime64[s]")
    weights = interactions.decay_weights(times, now, half_life_days=180)
    assert np.allclose(weights, [1.0, 0.5])


def test_department_popularity_follows_the_users_department():
    # Department 0 (users 0-1) reads item 0 most, department 1 (users 2-3) item 2; user 4
    # has no department and gets the library-wide favourite, item 2.
    matrix = sparse.csr_matrix(
        np.array([[1, 1, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1], [0, 0, 1, 0]], np.float32)
    )
    groups = np.array([0, 0, 1, 1, -1])
    model = GroupPopularity(groups).fit(matrix)
    exclude, blocked = _no_exclusions(matrix)
    ids, _ = model.recommend(np.array([1, 2, 4]), 1, exclude, blocked)
    assert ids[:, 0].tolist() == [0, 2, 2]


def test_class_cap_keeps_ten_books_from_spreading_over_one_class():
    ids = np.array([[0, 1, 2, 3, 4, 5]])
    scores = np.array([[6.0, 5.0, 4.0, 3.0, 2.0, 1.0]])
    classes = np.array([0, 0, 0, 1, 1, -1])
    capped, capped_scores = cap_per_class(ids, scores, classes, cap=2, n=4)
    assert capped[0].tolist() == [0, 1, 3, 4]
    only_one_class = cap_per_class(ids[:, :3], scores[:, :3], classes, cap=1, n=3)[0]
    assert only_one_class[0].tolist() == [0, 1, 2]  # no other class: the list stays full
    assert np.isfinite(capped_scores).all()


def test_diversified_model_never_shows_more_than_the_cap_of_a_class():
    matrix = _clustered()
    classes = np.arange(60) // 20  # each cluster's items form one class
    model = Diversified(Als(factors=8, iterations=10, random_state=1), classes, cap=4)
    ids, scores = model.fit(matrix).recommend(
        np.arange(90), 10, (matrix > 0).tocsr(), np.zeros(60, bool)
    )
    for row in range(90):
        shown = ids[row][np.isfinite(scores[row])]
        assert len(shown) == 10
        assert np.bincount(classes[shown]).max() <= 4


def test_other_copies_of_a_borrowed_work_are_excluded():
    seen = sparse.csr_matrix(np.array([[1, 0, 0, 0]], dtype=bool))
    works = np.array([7, 7, 3, -1])  # items 0 and 1 are copies of one novel
    assert exclude_same_work(seen, interactions.codes(works)).toarray().tolist() == [
        [True, True, False, False]
    ]


def test_random_split_is_per_user_and_reproducible():
    matrix = _clustered()
    train, test = random_split(matrix, 0.5, seed=4)
    again_train, _ = random_split(matrix, 0.5, seed=4)
    other_train, _ = random_split(matrix, 0.5, seed=5)
    assert (train != again_train).nnz == 0 and (train != other_train).nnz > 0
    assert (np.diff(test.indptr) == 3).all()  # half of each user's six loans
    assert (train + test != matrix).nnz == 0


def test_blend_beats_popularity_on_clustered_holdout():
    train, test = random_split(_clustered(), 0.2, seed=2)
    groups = np.arange(90) // 30
    blocked = np.zeros(60, bool)
    blend = holdout(
        Blend(Als(factors=8, random_state=1), GroupPopularity(groups)), train, test, blocked
    )
    popular = holdout(Popularity(), train, test, blocked)
    assert blend.hit_rate_at_10 > 2 * popular.hit_rate_at_10
    assert blend.ndcg_at_10 > 2 * popular.ndcg_at_10
