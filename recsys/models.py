"""Recommenders with one interface: ``fit(user_items)`` then ``recommend(rows, n, exclude)``.

``exclude`` is a boolean user × item sparse matrix (items a user must not get, e.g. already
borrowed) and ``blocked`` a boolean per item (never recommend: lost, withdrawn, not a book).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

# Guards divisions by a zero norm or an empty group; far below any real score.
EPSILON = 1e-12


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


def _scale_rows(scores: np.ndarray) -> np.ndarray:
    """Divide each row by its largest absolute value, so blended signals share one scale."""
    return scores / np.maximum(np.abs(scores).max(axis=1, keepdims=True), EPSILON)


class Scorer(ABC):
    """Shared ``recommend``: a model only says how it ``scores`` each item for some users."""

    @abstractmethod
    def scores(self, rows: np.ndarray) -> np.ndarray:
        """A dense float64 score per (row, item) column for the given matrix rows."""

    def recommend(
        self, rows: np.ndarray, n: int, exclude: sparse.csr_matrix, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``n`` best items per row, never excluded or blocked ones (-inf pads a short row)."""
        scores = self.scores(rows)
        _mask(scores, rows, exclude, blocked)
        return _top_n(scores, n)


@dataclass
class Popularity(Scorer):
    """Most-borrowed items (by summed weight): the baseline every model must beat."""

    counts: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def fit(self, user_items: sparse.csr_matrix) -> Popularity:
        if user_items.nnz == 0:
            raise ModelFitError("no interactions to count")
        self.counts = np.asarray(user_items.sum(axis=0)).ravel()
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.tile(self.counts.astype(np.float64), (len(rows), 1))


@dataclass
class GroupPopularity(Scorer):
    """Most borrowed among the users of the same group (e.g. department); the whole library
    for users without a group (code -1).

    ``user_groups`` holds one integer code per row of the matrix given to ``fit``.
    """

    user_groups: np.ndarray
    shares: np.ndarray = field(default=None, repr=False)
    overall: np.ndarray = field(default=None, repr=False)

    def fit(self, user_items: sparse.csr_matrix) -> GroupPopularity:
        if user_items.nnz == 0:
            raise ModelFitError("no interactions to count")
        if len(self.user_groups) != user_items.shape[0]:
            raise ModelFitError(
                f"{len(self.user_groups)} user groups for {user_items.shape[0]} matrix rows: "
                "give one group code per user"
            )
        groups = max(int(self.user_groups.max(initial=-1)) + 1, 1)
        member = self.user_groups >= 0
        membership = sparse.csr_matrix(
            (np.ones(member.sum()), (self.user_groups[member], np.flatnonzero(member))),
            shape=(groups, user_items.shape[0]),
        )
        totals = np.asarray((membership @ user_items).todense(), dtype=np.float64)
        self.shares = totals / np.maximum(totals.sum(axis=1, keepdims=True), EPSILON)
        overall = np.asarray(user_items.sum(axis=0), dtype=np.float64).ravel()
        self.overall = overall / max(overall.sum(), EPSILON)
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        codes = self.user_groups[rows]
        scores = np.tile(self.overall, (len(rows), 1))
        grouped = codes >= 0
        scores[grouped] = self.shares[codes[grouped]]
        return scores


@dataclass
class Als(Scorer):
    """Implicit-feedback ALS (implicit's CPU solver); the arguments are the whole configuration.

    The defaults were chosen on the simulator's temporal holdout (small and medium libraries)
    and the Shakespeare and Company per-user holdout (docs/recommender.md): strong
    regularisation and a low confidence weight suit sparse loan logs, where most readers have
    a handful of loans.
    """

    factors: int = 64
    regularization: float = 10.0
    alpha: float = 5.0
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

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return (self.user_factors[rows] @ self.item_factors.T).astype(np.float64)

    def closest_history(self, row: int, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        """For each recommended item, the history item most similar to it (for explanations)."""
        norms = np.linalg.norm(self.item_factors, axis=1, keepdims=True)
        unit = self.item_factors / (norms + EPSILON)
        similarity = unit[items] @ unit[history].T
        return history[np.argmax(similarity, axis=1)]


@dataclass
class Blend(Scorer):
    """ALS scores plus ``weight`` × the popularity within the user's group, each scaled to
    [-1, 1] per user: the group term lifts what the user's department reads right now.
    """

    als: Als
    group: GroupPopularity
    weight: float = 0.3

    @property
    def item_factors(self) -> np.ndarray:
        return self.als.item_factors

    def fit(self, user_items: sparse.csr_matrix) -> Blend:
        self.als.fit(user_items)
        if self.weight:
            self.group.fit(user_items)
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        scores = _scale_rows(self.als.scores(rows))
        if self.weight:
            scores += self.weight * _scale_rows(self.group.scores(rows))
        return scores

    def closest_history(self, row: int, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        return self.als.closest_history(row, items, history)
