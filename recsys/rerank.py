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
    out_ids = np.zeros((len(ids), n), dtype=np.int64)
    out_scores = np.full((len(ids), n), -np.inf)
    for i in range(len(ids)):
        valid = np.isfinite(scores[i])
        candidates, values = ids[i][valid], scores[i][valid]
        taken: dict[int, int] = {}
        kept, spill = [], []
        for position, item in enumerate(candidates):
            klass = int(classes[item])
            if klass < 0 or taken.get(klass, 0) < cap:
                taken[klass] = taken.get(klass, 0) + 1
                kept.append(position)
            else:
                spill.append(position)
            if len(kept) == n:
                break
        chosen = sorted(kept + spill[: n - len(kept)])
        out_ids[i, : len(chosen)] = candidates[chosen]
        out_scores[i, : len(chosen)] = values[chosen]
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

    def closest_history(self, row: int, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        return self.model.closest_history(row, items, history)
