""" "Because you borrowed X" names the borrowed book that contributed most to the score, as
implicit's own ``explain`` splits it, not the borrowed book nearest in factor space."""

from __future__ import annotations

import numpy as np
from scipy import sparse

from recsys.models import Als, ItemNeighbours
from recsys.rerank import Diversified


def _library(seed=4, users=300, items=80):
    """Readers of four clusters, with loan counts (some books borrowed again)."""
    rng = np.random.default_rng(seed)
    rows, columns = [], []
    for user in range(users):
        cluster = user % 4
        picks = rng.choice(20, 6, replace=False) + cluster * 20
        picks = np.r_[picks, rng.choice(items, 2, replace=False), picks[:2]]  # two re-reads
        rows += [user] * len(picks)
        columns += picks.tolist()
    return sparse.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, columns)), shape=(users, items)
    )


def test_als_reasons_are_implicits_largest_contribution_not_the_nearest_book():
    matrix = _library()
    model = Diversified(Als(factors=16, regularization=1.0, alpha=5.0, random_state=3), None, None)
    model.fit(matrix)
    rows = np.arange(0, 300, 3)
    exclude, blocked = (matrix > 0).tocsr(), np.zeros(80, dtype=bool)
    ids, scores = model.recommend(rows, 10, exclude, blocked)
    valid = np.isfinite(scores)
    valid[0, 5:] = False  # empty slots get no reason
    chosen = model.contributing_histories(ids, valid, matrix[rows])
    fitted = model.model._fitted
    unit = fitted.item_factors / np.linalg.norm(fitted.item_factors, axis=1, keepdims=True)
    differs = 0
    for i, user in enumerate(rows):
        past = matrix[user].indices
        weights = None
        for slot in range(10):
            if not valid[i, slot]:
                assert chosen[i, slot] == -1
                continue
            # implicit's explain on the whole matrix and the user's own row id.
            _, top, weights = fitted.explain(user, matrix, ids[i, slot], weights, N=1)
            assert chosen[i, slot] == top[0][0] and chosen[i, slot] in past
            nearest = past[np.argmax(unit[past] @ unit[ids[i, slot]])]
            differs += nearest != chosen[i, slot]
    assert differs > 50  # the nearest book is often not what drove the score


def test_neighbour_reasons_weigh_each_borrowed_book_by_its_weight():
    similarity = sparse.csr_matrix(
        np.array(
            [
                [0.0, 0.0, 0.9],  # book 0 is the most like book 2 ...
                [0.0, 0.0, 0.5],
                [0.9, 0.5, 0.0],
            ]
        )
    )
    model = ItemNeighbours()
    model.similarity = similarity
    history = sparse.csr_matrix(np.array([[1.0, 3.0, 0.0], [1.0, 1.0, 0.0]]))
    items, valid = np.array([[2], [2]]), np.ones((2, 1), dtype=bool)
    chosen = model.contributing_histories(items, valid, history)
    # ... but the reader who borrowed book 1 three times owes the score to book 1 (1.5 > 0.9).
    assert chosen.tolist() == [[1], [0]]
