"""The fast ranking paths give the same lists as the plain, one-user-at-a-time definitions."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from recsys import evaluate
from recsys.blend import Blend
from recsys.evaluate import recommend_all
from recsys.models import Als, GroupPopularity, Popularity, Scorer
from recsys.rerank import cap_per_class
from recsys.topn import top_n


def _full_sort(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Best first, equal scores by column: the definition ``top_n`` must match."""
    columns = np.broadcast_to(np.arange(scores.shape[1]), scores.shape)
    order = np.lexsort((columns, -scores), axis=1)[:, :n]
    return order, np.take_along_axis(scores, order, axis=1)


def test_top_n_matches_a_full_sort_with_ties_and_empty_columns():
    rng = np.random.default_rng(5)
    for width in (1, 7, 40, 1000, 5003):
        scores = rng.integers(0, 6, size=(30, width)).astype(np.float64)
        scores[scores == 0] = -np.inf  # a sixth of the columns are never to be shown
        scores[3] = -np.inf  # a user with nothing left
        for n in (1, 10, 40, width + 5):
            ids, values = top_n(scores, n)
            expected_ids, expected_values = _full_sort(scores, n)
            assert ids.shape == (30, min(n, width))
            assert np.array_equal(values, expected_values)
            finite = np.isfinite(values)
            assert np.array_equal(ids[finite], expected_ids[finite])
            assert len(set(ids[0][finite[0]])) == finite[0].sum()


def test_top_n_on_real_valued_scores_keeps_the_exact_best():
    rng = np.random.default_rng(9)
    scores = rng.normal(size=(50, 4000))
    ids, values = top_n(scores, 40)
    assert np.array_equal(ids, _full_sort(scores, 40)[0])
    assert (np.diff(values, axis=1) <= 0).all()


def test_popularity_walk_equals_ranking_the_masked_dense_scores():
    rng = np.random.default_rng(2)
    matrix = sparse.random(40, 30, density=0.2, random_state=3, format="csr", dtype=np.float32)
    matrix.data[:] = rng.integers(1, 3, size=matrix.nnz)  # many equal counts
    exclude = (matrix > 0).tocsr()
    blocked = np.zeros(30, dtype=bool)
    blocked[[0, 4, 9]] = True
    model = Popularity().fit(matrix)
    rows = np.arange(40)
    for n in (1, 10, 35):
        ids, scores = model.recommend(rows, n, exclude, blocked)
        dense = model.scores(rows)
        dense[:, blocked] = -np.inf
        dense[exclude.toarray()] = -np.inf
        expected_ids, expected_scores = _full_sort(dense, n)
        assert np.array_equal(scores, expected_scores)
        finite = np.isfinite(scores)
        assert np.array_equal(ids[finite], expected_ids[finite])


def _cap_one_row(candidates, values, classes, cap, n):
    """The class cap read literally: walk the list, defer what is over the cap."""
    kept, spill, taken = [], [], {}
    for position, item in enumerate(candidates):
        if not np.isfinite(values[position]):
            break
        klass = classes[item]
        if klass < 0 or taken.get(klass, 0) < cap:
            taken[klass] = taken.get(klass, 0) + 1
            kept.append(position)
        else:
            spill.append(position)
        if len(kept) == n:
            break
    return [candidates[p] for p in sorted(kept + spill[: n - len(kept)])]


def test_class_cap_matches_walking_each_list():
    rng = np.random.default_rng(4)
    for _ in range(200):
        rows, width = int(rng.integers(1, 12)), int(rng.integers(1, 45))
        n, cap = int(rng.integers(1, 12)), int(rng.integers(1, 4))
        classes = rng.integers(-1, int(rng.integers(1, 5)), size=50)
        ids = rng.integers(0, 50, size=(rows, width))
        scores = -np.sort(rng.random((rows, width)), axis=1)
        scores[np.arange(width) >= rng.integers(0, width + 1, size=(rows, 1))] = -np.inf
        out_ids, out_scores = cap_per_class(ids, scores, classes, cap, n)
        assert out_ids.shape == (rows, n)
        for row in range(rows):
            shown = out_ids[row][np.isfinite(out_scores[row])]
            assert shown.tolist() == _cap_one_row(ids[row], scores[row], classes, cap, n)


def _clustered():
    rng = np.random.default_rng(6)
    rows = np.repeat(np.arange(120), 6)
    cols = (rows // 40) * 20 + rng.integers(0, 20, size=len(rows))
    return sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(120, 60))


class _PlainBlend(Scorer):
    """The blend's definition: each signal scaled to [-1, 1] per user, then weighted."""

    def __init__(self, als: Als, group: GroupPopularity, weight: float) -> None:
        self.als, self.group, self.weight = als, group, weight

    def scores(self, rows: np.ndarray) -> np.ndarray:
        def scaled(block):
            return block / np.maximum(np.abs(block).max(axis=1, keepdims=True), 1e-12)

        als = (self.als.user_factors[rows] @ self.als.item_factors.T).astype(np.float64)
        return scaled(als) + self.weight * scaled(self.group.scores(rows))


def test_blend_scores_and_lists_equal_the_plain_definition_in_any_row_order():
    matrix = _clustered()
    groups = np.arange(120) % 4 - 1  # users of three departments and users of none
    blend = Blend(Als(factors=8, iterations=5, random_state=1), GroupPopularity(groups), 0.3)
    blend.fit(matrix)
    plain = _PlainBlend(blend.als, blend.group, 0.3)
    rows = np.random.default_rng(1).permutation(120)
    assert np.array_equal(blend.scores(rows), plain.scores(rows))
    exclude, blocked = (matrix > 0).tocsr(), np.arange(60) % 7 == 0
    ids, scores = blend.recommend(rows, 10, exclude, blocked)
    assert not blocked[ids].any()
    plain_ids, plain_scores = plain.recommend(rows, 10, exclude, blocked)
    # The products may run through different single-precision kernels: equal to rounding.
    assert np.array_equal(ids, plain_ids)
    assert np.allclose(scores, plain_scores, rtol=1e-6, atol=0)


def test_chunks_scored_in_parallel_come_back_in_the_users_order(monkeypatch):
    matrix = _clustered()
    model = Als(factors=8, iterations=5, random_state=1).fit(matrix)
    rows = np.random.default_rng(3).permutation(120)
    exclude, blocked = (matrix > 0).tocsr(), np.zeros(60, dtype=bool)
    one_by_one = [
        model.recommend(rows[start : start + 7], 10, exclude, blocked) for start in range(0, 120, 7)
    ]
    monkeypatch.setattr(evaluate, "CHUNK_USERS", 7)  # 18 chunks over two threads
    ids, scores = recommend_all(model, rows, 10, exclude, blocked)
    assert np.array_equal(ids, np.vstack([chunk_ids for chunk_ids, _ in one_by_one]))
    assert np.array_equal(scores, np.vstack([chunk_scores for _, chunk_scores in one_by_one]))
