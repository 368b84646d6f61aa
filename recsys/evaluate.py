"""Offline evaluation: train before a cutoff (or on a seeded random share of each user's
interactions) and test on the rest, with the exclusions production applies."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse

from recsys.interactions import exclude_same_work

# Users are scored in chunks so the dense score block stays small (chunk × catalogue floats);
# smaller chunks stay closer to the cache, larger ones spend less on per-chunk calls.
CHUNK_USERS = 128
# Chunks scored at once: the nightly host has two cores (ALS trains on both too), and numpy
# releases the interpreter lock in the products, reductions and sorts that dominate scoring.
SCORING_THREADS = 2
K = 10


@dataclass(frozen=True)
class Metrics:
    """Ranking quality at K over the users that have both training and test interactions."""

    users_evaluated: int
    hit_rate_at_10: float
    precision_at_10: float
    ndcg_at_10: float
    coverage: float

    def as_dict(self) -> dict:
        return asdict(self)


def recommend_all(
    model, rows: np.ndarray, n: int, exclude, blocked
) -> tuple[np.ndarray, np.ndarray]:
    """Recommend for many users chunk by chunk (chunks in parallel); -inf marks empty slots."""

    def chunk(start: int) -> tuple[np.ndarray, np.ndarray]:
        return model.recommend(rows[start : start + CHUNK_USERS], n, exclude, blocked)

    starts = range(0, len(rows), CHUNK_USERS)
    if len(starts) > 1:
        with ThreadPoolExecutor(SCORING_THREADS) as pool:
            parts = list(pool.map(chunk, starts))
    else:
        parts = [chunk(start) for start in starts]
    if not parts:
        return np.zeros((0, n), dtype=np.int64), np.zeros((0, n))
    return np.vstack([ids for ids, _ in parts]), np.vstack([scores for _, scores in parts])


def per_user_quality(
    lists: Iterable[tuple[Sequence, set]], k: int = K
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hit (0 or 1), precision and nDCG at ``k`` of each ``(ranked items, relevant items)``
    pair, in order: the one definition every evaluation here uses."""
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    hits, precision, ndcg = [], [], []
    for ranked, relevant in lists:
        gains = np.array([item in relevant for item in list(ranked)[:k]], dtype=float)
        ideal = discounts[: min(len(relevant), k)].sum()
        hits.append(float(gains.any()))
        precision.append(gains.sum() / k)
        ndcg.append((gains * discounts[: len(gains)]).sum() / ideal if ideal else 0.0)
    return np.array(hits), np.array(precision), np.array(ndcg)


def list_quality(lists: Iterable[tuple[Sequence, set]], k: int = K) -> tuple[float, ...]:
    """Mean hit rate, precision and nDCG at ``k`` of ``(ranked items, relevant items)`` pairs
    (zeros when there are none)."""
    hits, precision, ndcg = per_user_quality(lists, k)
    if not len(hits):
        return 0.0, 0.0, 0.0
    return float(hits.mean()), float(precision.mean()), float(ndcg.mean())


def ranking_metrics(
    recommended: np.ndarray,
    valid: np.ndarray,
    test: sparse.csr_matrix,
    rows: np.ndarray,
    catalogue: int,
) -> Metrics:
    """Score recommendations (``recommended[i]`` for user ``rows[i]``) against the test matrix."""
    return scored_lists(recommended, valid, test, rows, catalogue)[0]


def scored_lists(
    recommended: np.ndarray,
    valid: np.ndarray,
    test: sparse.csr_matrix,
    rows: np.ndarray,
    catalogue: int,
) -> tuple[Metrics, np.ndarray]:
    """The metrics of ``ranking_metrics`` and each user's nDCG@10 (in the order of ``rows``)."""
    hits, precision, ndcg = per_user_quality(
        (recommended[i][valid[i]], set(test.indices[test.indptr[row] : test.indptr[row + 1]]))
        for i, row in enumerate(rows)
    )
    shown = np.unique(recommended[valid]) if len(rows) else np.array([])
    metrics = Metrics(
        users_evaluated=len(rows),
        hit_rate_at_10=float(hits.mean()) if len(rows) else 0.0,
        precision_at_10=float(precision.mean()) if len(rows) else 0.0,
        ndcg_at_10=float(ndcg.mean()) if len(rows) else 0.0,
        coverage=len(shown) / catalogue if catalogue else 0.0,
    )
    return metrics, ndcg


def new_interactions(train: sparse.csr_matrix, test: sparse.csr_matrix) -> sparse.csr_matrix:
    """The test pairs a user had not had in training (the ones a recommendation can find)."""
    seen = (train > 0).tocsr()
    new = ((test > 0).astype(np.int8) - test.multiply(seen).astype(bool).astype(np.int8)).tocsr()
    new.eliminate_zeros()
    return new


def evaluable_users(train: sparse.csr_matrix, test: sparse.csr_matrix) -> np.ndarray:
    """Rows with at least one training and one new test interaction."""
    new = new_interactions(train, test)
    return np.flatnonzero((np.diff(train.indptr) > 0) & (np.diff(new.indptr) > 0))


def holdout_lists(
    model,
    train: sparse.csr_matrix,
    test: sparse.csr_matrix,
    blocked: np.ndarray,
    works: np.ndarray | None = None,
    rows: np.ndarray | None = None,
) -> tuple[Metrics, np.ndarray]:
    """``holdout``, also giving each evaluated user's nDCG@10; ``rows`` (a subset of the
    evaluable users, e.g. a sample) limits who is scored."""
    seen = (train > 0).tocsr()
    exclude = seen if works is None else exclude_same_work(seen, works)
    new = new_interactions(train, test)
    if rows is None:
        rows = evaluable_users(train, test)
    model.fit(train)
    ids, scores = recommend_all(model, rows, K, exclude, blocked)
    return scored_lists(ids, np.isfinite(scores), new, rows, int((~blocked).sum()))


def holdout(
    model,
    train: sparse.csr_matrix,
    test: sparse.csr_matrix,
    blocked: np.ndarray,
    works: np.ndarray | None = None,
) -> Metrics:
    """Fit ``model`` on ``train`` and measure it on ``test`` (same rows and columns).

    Evaluated users have at least one training and one new test interaction; items already
    borrowed in training (and, with ``works``, other copies of the same work) are excluded
    from their recommendations, as in production.
    """
    return holdout_lists(model, train, test, blocked, works)[0]


def random_split(
    matrix: sparse.csr_matrix, fraction: float, seed: int
) -> tuple[sparse.csr_matrix, sparse.csr_matrix]:
    """Hold out ``floor(fraction × n)`` of each user's ``n`` interactions, drawn with ``seed``.

    For logs without dates: users with too few interactions to spare one keep them all in
    training. The same seed always gives the same split.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"holdout fraction {fraction} must lie strictly between 0 and 1")
    matrix = matrix.tocsr()
    matrix.sort_indices()
    rng = np.random.default_rng(seed)
    held = np.zeros(matrix.nnz, dtype=bool)
    for row in range(matrix.shape[0]):
        start, end = matrix.indptr[row], matrix.indptr[row + 1]
        take = int(np.floor((end - start) * fraction))
        if take:
            held[start + rng.choice(end - start, size=take, replace=False)] = True
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))

    def part(mask: np.ndarray) -> sparse.csr_matrix:
        return sparse.csr_matrix(
            (matrix.data[mask], (rows[mask], matrix.indices[mask])), shape=matrix.shape
        )

    return part(~held), part(held)
