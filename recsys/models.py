"""Recommenders with one interface: ``fit(user_items)`` then ``recommend(rows, n, exclude)``.

``exclude`` is a boolean user × item sparse matrix (items a user must not get, e.g. already
borrowed) and ``blocked`` a boolean per item (never recommend: lost, withdrawn, not a book).
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from recsys.explain import als_contributions, neighbour_contributions
from recsys.topn import top_n

# Guards divisions by a zero norm or an empty group; far below any real score.
EPSILON = 1e-12


class ModelFitError(RuntimeError):
    """The model cannot be trained on this data (e.g. no interactions)."""


def _mask(
    scores: np.ndarray, rows: np.ndarray, exclude: sparse.csr_matrix, blocked: np.ndarray
) -> None:
    scores[:, blocked] = -np.inf
    sub = exclude[rows].tocoo()
    scores[sub.row, sub.col] = -np.inf


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
    _fitted: object = field(default=None, init=False, repr=False, compare=False)
    # The matrix the factors were fitted on: fitting again on the same matrix keeps them.
    _fitted_on: object = field(default=None, init=False, repr=False, compare=False)
    # A warm start (recsys.warm): item factors to start from, and the iterations to run then;
    # ``warm_started`` says whether the last fit used one.
    _start: tuple | None = field(default=None, init=False, repr=False, compare=False)
    warm_started: bool = field(default=False, init=False, repr=False, compare=False)

    def implicit_model(self):
        """implicit's ALS with these settings, not fitted yet."""
        # Imported when a model is built: implicit loads its BLAS library on import.
        from implicit.cpu.als import AlternatingLeastSquares

        return AlternatingLeastSquares(
            factors=self.factors,
            regularization=self.regularization,
            alpha=self.alpha,
            iterations=self.iterations,
            random_state=self.random_state,
            num_threads=self.num_threads,
        )

    def fit(self, user_items: sparse.csr_matrix) -> Als:
        if user_items.nnz == 0:
            raise ModelFitError("no interactions to learn from")
        if self._fitted_on is user_items:
            return self
        model = self.implicit_model()
        self.warm_started = self._start is not None
        if self._start is not None:
            factors, model.iterations = self._start
            self._start = None
            if factors.shape != (user_items.shape[1], self.factors):
                raise ValueError(
                    f"a warm start of shape {factors.shape} for {user_items.shape[1]} items "
                    f"and {self.factors} factors"
                )
            model.item_factors = np.ascontiguousarray(factors, dtype=np.float32)
        model.fit(user_items, show_progress=False)
        self.user_factors = np.asarray(model.user_factors)
        self.item_factors = np.asarray(model.item_factors)
        self._fitted, self._fitted_on = model, user_items
        return self

    def start(self, item_factors: np.ndarray, iterations: int) -> None:
        """Fit from ``item_factors`` (one row per item of the matrix) for ``iterations``
        instead of from implicit's random start for ``self.iterations``."""
        self._start = (item_factors, iterations)

    def share(self, other: Als) -> None:
        """Take the factors of ``other``: the same ALS, already fitted on the matrix this one
        is to be fitted on (``fit`` then keeps them)."""
        self.user_factors, self.item_factors = other.user_factors, other.item_factors
        self._fitted, self._fitted_on = other._fitted, other._fitted_on

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return (self.user_factors[rows] @ self.item_factors.T).astype(np.float64)

    def implicit_fitted(self):
        """implicit's ALS holding these factors (the one ``fit`` trained, or one made for
        factors set by hand)."""
        if self._fitted is None or self._fitted.item_factors is not self.item_factors:
            model = self.implicit_model()
            model.item_factors, model.user_factors = self.item_factors, self.user_factors
            self._fitted = model
        return self._fitted

    def contributing_histories(
        self, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
    ) -> np.ndarray:
        """For each recommended item of each user, the history item that contributed most to
        its score (``history``: the users' rows of the fitted matrix; see
        ``recsys.explain.als_contributions``)."""
        return als_contributions(self.implicit_fitted(), items, valid, history)


# Share of overall popularity added to a class-weighted score, so that items of classes the
# reader never read (and readers of unclassified books) still come in most-borrowed order.
CLASS_TIE_BREAK = 1e-6


@dataclass
class ClassPopularity(Scorer):
    """Most-borrowed items weighted by the reader's share of loans in each item's CLC class:
    the popular books of the subjects a reader reads, in proportion.

    ``item_classes`` holds one class code per item column (``-1``: unclassified).
    """

    item_classes: np.ndarray
    popularity: np.ndarray = field(default=None, repr=False)
    _membership: sparse.csr_matrix = field(default=None, repr=False)
    _user_items: sparse.csr_matrix = field(default=None, repr=False)

    def fit(self, user_items: sparse.csr_matrix) -> ClassPopularity:
        if user_items.nnz == 0:
            raise ModelFitError("no interactions to count")
        counts = np.asarray(user_items.sum(axis=0), dtype=np.float64).ravel()
        self.popularity = counts / max(counts.max(), EPSILON)
        classed = np.flatnonzero(self.item_classes >= 0)
        self._membership = sparse.csr_matrix(
            (np.ones(len(classed)), (classed, self.item_classes[classed])),
            shape=(user_items.shape[1], max(int(self.item_classes.max(initial=-1)) + 1, 1)),
        )
        self._user_items = user_items.tocsr()
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        mix = np.asarray((self._user_items[rows] @ self._membership).todense(), np.float64)
        mix /= np.maximum(mix.sum(axis=1, keepdims=True), EPSILON)
        classed = self.item_classes >= 0
        scores = np.zeros((len(rows), len(self.popularity)))
        scores[:, classed] = mix[:, self.item_classes[classed]] * self.popularity[classed]
        return scores + CLASS_TIE_BREAK * self.popularity


@dataclass
class ItemNeighbours(Scorer):
    """Item-to-item neighbours (implicit's cosine ``ItemItemRecommender``): a reader's items
    summed over the ``neighbours`` most similar items of each."""

    neighbours: int = 50
    num_threads: int = 2
    similarity: sparse.csr_matrix = field(default=None, repr=False)
    _user_items: sparse.csr_matrix = field(default=None, repr=False)

    def fit(self, user_items: sparse.csr_matrix) -> ItemNeighbours:
        if user_items.nnz == 0:
            raise ModelFitError("no interactions to learn from")
        # Imported when a model is built, as for ALS.
        from implicit.nearest_neighbours import CosineRecommender
        from implicit.utils import ParameterWarning

        model = CosineRecommender(K=self.neighbours, num_threads=self.num_threads)
        with warnings.catch_warnings():
            # implicit normalises the matrix into COO form itself, then warns about its own
            # conversion back to CSR: nothing the caller can change.
            warnings.simplefilter("ignore", ParameterWarning)
            model.fit(user_items.tocsr(), show_progress=False)
        self.similarity = model.similarity.tocsr()
        self._user_items = user_items.tocsr()
        return self

    def scores(self, rows: np.ndarray) -> np.ndarray:
        return np.asarray((self._user_items[rows] @ self.similarity).todense(), np.float64)

    def contributing_histories(
        self, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
    ) -> np.ndarray:
        """For each recommended item, the history item that contributed most to its score
        (``recsys.explain.neighbour_contributions``); ``-1`` for empty slots and no history."""
        return neighbour_contributions(self.similarity, items, valid, history)
