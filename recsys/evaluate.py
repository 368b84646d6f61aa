"""Offline evaluation: train before a cutoff, test on what users borrowed after it."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import sparse

# Users are scored in chunks so the dense score block stays small (chunk × catalogue floats).
CHUNK_USERS = 512
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
    """Recommend for many users chunk by chunk; -inf scores mark empty slots."""
    ids, scores = [], []
    for start in range(0, len(rows), CHUNK_USERS):
        chunk_ids, chunk_scores = model.recommend(
            rows[start : start + CHUNK_USERS], n, exclude, blocked
        )
        ids.append(chunk_ids)
        scores.append(chunk_scores)
    if not ids:
        return np.zeros((0, n), dtype=np.int64), np.zeros((0, n))
    return np.vstack(ids), np.vstack(scores)


def ranking_metrics(
    recommended: np.ndarray,
    valid: np.ndarray,
    test: sparse.csr_matrix,
    rows: np.ndarray,
    catalogue: int,
) -> Metrics:
    """Score recommendations (``recommended[i]`` for user ``rows[i]``) against the test matrix."""
    discounts = 1.0 / np.log2(np.arange(2, K + 2))
    hits_any, precision, ndcg = [], [], []
    for i, row in enumerate(rows):
        relevant = set(test.indices[test.indptr[row] : test.indptr[row + 1]])
        top = recommended[i][valid[i]][:K]
        gains = np.array([item in relevant for item in top], dtype=float)
        ideal = discounts[: min(len(relevant), K)].sum()
        hits_any.append(gains.any())
        precision.append(gains.sum() / K)
        ndcg.append((gains * discounts[: len(gains)]).sum() / ideal if ideal else 0.0)
    shown = np.unique(recommended[valid]) if len(rows) else np.array([])
    return Metrics(
        users_evaluated=len(rows),
        hit_rate_at_10=float(np.mean(hits_any)) if rows.size else 0.0,
        precision_at_10=float(np.mean(precision)) if rows.size else 0.0,
        ndcg_at_10=float(np.mean(ndcg)) if rows.size else 0.0,
        coverage=len(shown) / catalogue if catalogue else 0.0,
    )


def holdout(
    model, train: sparse.csr_matrix, test: sparse.csr_matrix, blocked: np.ndarray
) -> Metrics:
    """Fit ``model`` on ``train`` and measure it on ``test`` (same rows and columns).

    Evaluated users have at least one training and one new test interaction; items already
    borrowed in training are excluded from their recommendations, as in production.
    """
    seen = (train > 0).tocsr()
    new = ((test > 0).astype(np.int8) - test.multiply(seen).astype(bool).astype(np.int8)).tocsr()
    new.eliminate_zeros()
    rows = np.flatnonzero((np.diff(train.indptr) > 0) & (np.diff(new.indptr) > 0))
    model.fit(train)
    ids, scores = recommend_all(model, rows, K, seen, blocked)
    return ranking_metrics(ids, np.isfinite(scores), new, rows, int((~blocked).sum()))
