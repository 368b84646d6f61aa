"""Recommenders with one interface: ``fit(user_items)`` then ``recommend(rows, n, exclude)``.

``exclude`` is a boolean user × item sparse matrix (items a user must not get, e.g. already
borrowed) and ``blocked`` a boolean per item (never recommend: lost, withdrawn, not a book).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import sparse


class ModelFitError(RuntimeError):
    """The model cannot be trained on this data (e.g. no interactions)."""


def _top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the column indices and scores of the n best finite scores per row, best first."""
    n = min(n, scores.shape[1])
    part = np.argpartition(-scores, n - 1, axis=1)[:, :n]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.argsort(-part_scores, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(part_scores, order, axis=1)


def _mask(
    scores: np.ndarray, rows: np.ndarray, exclude: sparse.csr_matrix, blocked: np.ndarray
) -> None:
    scores[:, blocked] = -np.inf
    sub = exclude[rows].tocoo()
    scores[sub.row, sub.col] = -np.inf


@dataclass
class Popularity:
    """Most-borrowed items (by summed weight): the baseline every model must beat."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fit(self, user_items: sparse.csr_matrix) -> Popularity:
        if user_items.nnz == 0:
            raise ModelFitError("no interactions to count")
        self.counts = np.asarray(user_items.sum(axis=0)).ravel()
        return self

    def recommend(
        self, rows: np.ndarray, n: int, exclude: sparse.csr_matrix, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = np.tile(self.counts.astype(np.float64), (len(rows), 1))
        _mask(scores, rows, exclude, blocked)
        return _top_n(scores, n)


@dataclass
class Als:
    """Implicit-feedback ALS (implicit's CPU solver); the arguments are the whole configuration."""

    factors: int = 64
    regularization: float = 0.05
    alpha: float = 10.0
    iterations: int = 15
    random_state: int = 42
    num_threads: int = 2
    item_factors: np.ndarray = field(default=None, repr=False)
    user_factors: np.ndarray = field(default=None, repr=False)

    def fit(self, user_items: sparse.csr_matrix) -> Als:
        from implicit.cpu.als import AlternatingLeastSquares

        if user_items.nnz == 0:
            raise ModelFitError("no interactions to learn from")
        model = AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )
        model.fit(user_items, show_progress=False)
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)
        return self

    def recommend(
        self, rows: np.ndarray, n: int, exclude: sparse.csr_matrix, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        scores = self.user_factors[rows] @ self.item_factors.T
        scores = scores.astype(np.float64)
        _mask(scores, rows, exclude, blocked)
        return _top_n(scores, n)

    def closest_history(self, row: int, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        """For each recommended item, the history item most similar to it (for explanations)."""
        unit = self.item_factors / (np.linalg.norm(self.item_factors, axis=1, keepdims=True) + 1e-9)
        similarity = unit[items] @ unit[history].T
        return history[np.argmax(similarity, axis=1)]
