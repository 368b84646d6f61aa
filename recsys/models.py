"""Recommenders with one interface: ``fit(user_items)`` then ``recommend(rows, n, exclude)``.

``exclude`` is a boolean user × item sparse matrix (items a user must not get, e.g. already
borrowed) and ``blocked`` a boolean per item (never recommend: lost, withdrawn, not a book).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from recsys.explain import closest_history, unit_rows
from recsys.topn import candidates, select, top_n

# Guards divisions by a zero norm or an empty group; far below any real score.
EPSILON = 1e-12
# The blend is ranked in single precision first, then the candidates within this much of the
# cut are scored again in double precision: single precision is off by under 1e-6 on blended
# scores of at most 1 + weight, so the final lists equal a double-precision ranking exactly.
SINGLE_PRECISION_SLACK = 1e-4


class ModelFitError(RuntimeError):
    """The model cannot be trained on this data (e.g. no interactions)."""


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
        return top_n(scores, n)


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

    def recommend(
        self, rows: np.ndarray, n: int, exclude: sparse.csr_matrix, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every user walks one ranking, skipping what they must not get (same list as
        ``top_n`` on the masked dense scores, without building them)."""
        counts = self.counts.astype(np.float64)
        ranking = np.lexsort((np.arange(len(counts)), -counts))
        ranking = ranking[~blocked[ranking]]
        sub = exclude[rows].tocoo()
        depth = min(n + int(np.bincount(sub.row, minlength=1).max()), len(ranking))
        position = np.full(len(counts), depth)
        position[ranking[:depth]] = np.arange(depth)
        taken = np.zeros((len(rows), depth), dtype=bool)
        reached = position[sub.col] < depth
        taken[sub.row[reached], position[sub.col[reached]]] = True
        order = np.argsort(taken, axis=1, kind="stable")
        width = min(n, len(counts))
        ids = np.zeros((len(rows), width), dtype=np.int64)
        scores = np.full((len(rows), width), -np.inf)
        filled = min(width, depth)
        ids[:, :filled] = ranking[order[:, :filled]]
        free = ~np.take_along_axis(taken, order[:, :filled], axis=1)
        scores[:, :filled] = np.where(free, counts[ids[:, :filled]], -np.inf)
        return ids, scores


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
    _unit: tuple = field(default=(None, None), init=False, repr=False, compare=False)

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

    def unit_factors(self) -> np.ndarray:
        """The item factors scaled to unit length, computed once per fitted model."""
        if self._unit[0] is not self.item_factors:
            self._unit = (self.item_factors, unit_rows(self.item_factors))
        return self._unit[1]

    def closest_history(self, row: int, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        """For each recommended item, the history item most similar to it (for explanations)."""
        unit = self.unit_factors()
        similarity = unit[items] @ unit[history].T
        return history[np.argmax(similarity, axis=1)]

    def closest_histories(
        self, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
    ) -> np.ndarray:
        """``closest_history`` for many users at once (see ``recsys.explain``)."""
        return closest_history(self.unit_factors(), items, valid, history)


@dataclass
class Blend(Scorer):
    """ALS scores plus ``weight`` × the popularity within the user's group, each scaled to
    [-1, 1] per user: the group term lifts what the user's department reads right now.
    """

    als: Als
    group: GroupPopularity
    weight: float = 0.3
    # The weighted, scaled group term per group code; the last row is for users without one.
    _table: np.ndarray = field(default=None, init=False, repr=False, compare=False)

    @property
    def item_factors(self) -> np.ndarray:
        return self.als.item_factors

    def fit(self, user_items: sparse.csr_matrix) -> Blend:
        self.als.fit(user_items)
        if self.weight:
            self.group.fit(user_items)
            table = np.vstack([self.group.shares, self.group.overall[None, :]])
            self._table = self.weight * _scale_rows(table)
        return self

    def _table_rows(self, rows: np.ndarray) -> np.ndarray:
        codes = self.group.user_groups[rows]
        return np.where(codes >= 0, codes, len(self._table) - 1)

    def scores(self, rows: np.ndarray) -> np.ndarray:
        raw = self.als.user_factors[rows] @ self.als.item_factors.T
        largest = np.maximum(raw.max(axis=1, initial=-np.inf), -raw.min(axis=1, initial=np.inf))
        scale = np.maximum(largest.astype(np.float64), EPSILON)
        scores = np.divide(raw, scale[:, None], dtype=np.float64)
        if self.weight:
            # Rows of one group come in runs (``recommend`` sorts them): add each run's row
            # of the table in place instead of gathering a second dense block.
            table_rows = self._table_rows(rows)
            cuts = np.flatnonzero(np.diff(table_rows)) + 1
            for start, end in zip(np.r_[0, cuts], np.r_[cuts, len(rows)], strict=True):
                scores[start:end] += self._table[table_rows[start]]
        return scores

    def recommend(
        self, rows: np.ndarray, n: int, exclude: sparse.csr_matrix, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Equal to ranking ``scores`` (see ``SINGLE_PRECISION_SLACK``) at half the traffic."""
        order = (
            np.argsort(self._table_rows(rows), kind="stable")
            if self.weight
            else np.arange(len(rows))
        )
        ids, scores = self._ranked(rows[order], n, exclude, blocked)
        ids[order], scores[order] = ids.copy(), scores.copy()
        return ids, scores

    def _ranked(self, rows, n, exclude, blocked) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, len(blocked))
        if len(rows) == 0 or n == 0:
            return np.zeros((len(rows), n), dtype=np.int64), np.full((len(rows), n), -np.inf)
        raw = self.als.user_factors[rows] @ self.als.item_factors.T
        largest = np.maximum(raw.max(axis=1), -raw.min(axis=1))
        scale = np.maximum(largest.astype(np.float64), EPSILON)
        quick = raw * (1 / scale).astype(np.float32)[:, None]
        table_rows = self._table_rows(rows) if self.weight else np.zeros(len(rows), np.int64)
        table = self._table if self.weight else np.zeros((1, len(blocked)))
        quick_table = table.astype(np.float32)
        cuts = np.flatnonzero(np.diff(table_rows)) + 1
        for start, end in zip(np.r_[0, cuts], np.r_[cuts, len(rows)], strict=True):
            quick[start:end] += quick_table[table_rows[start]]
        _mask(quick, rows, exclude, blocked)
        row, column = candidates(quick, n, SINGLE_PRECISION_SLACK)
        exact = raw[row, column].astype(np.float64) / scale[row] + table[table_rows[row], column]
        exact[np.isneginf(quick[row, column])] = -np.inf
        return select(row, column, exact, len(rows), n)

    def closest_history(self, row: int, items: np.ndarray, history: np.ndarray) -> np.ndarray:
        return self.als.closest_history(row, items, history)

    def closest_histories(
        self, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
    ) -> np.ndarray:
        return self.als.closest_histories(items, valid, history)
