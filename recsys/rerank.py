"""Business re-ranking on top of any model: at most a few books per classification class."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

# Candidates fetched per slot before the class cap is applied: enough for the cap to find
# other classes in a top list dominated by one, small enough to stay cheap.
OVERFETCH = 4


def cap_per_class(
    ids: np.ndarray, scores: np.ndarray, classes: np.ndarray, cap: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Keep the best ``n`` candidates per row with at most ``cap`` from one class.

    Candidates (``ids[i]``, best first, ``-inf`` scores empty) beyond the cap fill the
    remaining slots in score order when no other class is left, so a user with one interest
    still gets ``n`` books. Items of class ``-1`` (unclassified) are never capped.
    """
    rows, width = ids.shape
    out_ids = np.zeros((rows, n), dtype=np.int64)
    out_scores = np.full((rows, n), -np.inf)
    if ids.size == 0:
        return out_ids, out_scores
    valid = np.isfinite(scores)
    klass = np.where(valid, classes[ids], -1)
    # A candidate's occurrence: how many earlier candidates of its row share its class.
    position = np.broadcast_to(np.arange(width), ids.shape).ravel()
    row = np.broadcast_to(np.arange(rows)[:, None], ids.shape).ravel()
    order = np.lexsort((position, klass.ravel(), row))
    row, sorted_class = row[order], klass.ravel()[order]
    first = np.r_[True, (row[1:] != row[:-1]) | (sorted_class[1:] != sorted_class[:-1])]
    starts = np.maximum.accumulate(np.where(first, np.arange(len(order)), 0))
    occurrence = np.empty(len(order), dtype=np.int64)
    occurrence[order] = np.arange(len(order)) - starts
    occurrence = occurrence.reshape(ids.shape)
    fits = valid & ((klass < 0) | (occurrence < cap))
    kept = fits & (np.cumsum(fits, axis=1) <= n)
    room = n - kept.sum(axis=1, keepdims=True)
    spill = valid & ~fits
    chosen = kept | (spill & (np.cumsum(spill, axis=1) <= room))
    picked = np.argsort(~chosen, axis=1, kind="stable")[:, :n]
    filled = np.take_along_axis(chosen, picked, axis=1)
    out_ids[:, : picked.shape[1]] = np.where(filled, np.take_along_axis(ids, picked, axis=1), 0)
    out_scores[:, : picked.shape[1]] = np.where(
        filled, np.take_along_axis(scores, picked, axis=1), -np.inf
    )
    return out_ids, out_scores


@dataclass
class Diversified:
    """Wrap a model so that no more than ``cap`` of a user's ``n`` items share a class.

    ``classes`` holds one integer class code per item column (``-1`` for none); ``cap`` of
    ``None`` turns the rule off.
    """

    model: object
    classes: np.ndarray
    cap: int | None = 4

    def fit(self, user_items: sparse.csr_matrix) -> Diversified:
        self.model.fit(user_items)
        return self

    def recommend(
        self, rows: np.ndarray, n: int, exclude: sparse.csr_matrix, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        if self.cap is None:
            return self.model.recommend(rows, n, exclude, blocked)
        ids, scores = self.model.recommend(rows, n * OVERFETCH, exclude, blocked)
        return cap_per_class(ids, scores, self.classes, self.cap, n)

    def contributing_histories(
        self, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
    ) -> np.ndarray:
        return self.model.contributing_histories(items, valid, history)
