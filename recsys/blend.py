"""The production scorer: ALS plus the popularity within the user's department, both scaled
per user, ranked over the whole catalogue for every user each night."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from recsys.models import EPSILON, Als, GroupPopularity, Scorer
from recsys.topn import candidates, select

# The blend is ranked in single precision first, then the candidates within this much of the
# cut are scored again in double precision: single precision is off by under 1e-6 on blended
# scores of at most 1 + weight, so the final lists equal a double-precision ranking exactly.
SINGLE_PRECISION_SLACK = 1e-4


def _scale_rows(scores: np.ndarray) -> np.ndarray:
    """Divide each row by its largest absolute value, so blended signals share one scale."""
    return scores / np.maximum(np.abs(scores).max(axis=1, keepdims=True), EPSILON)


def _largest_magnitude(block: np.ndarray) -> np.ndarray:
    """The largest absolute value of each row (0 for a row of no columns)."""
    if block.shape[1] == 0:
        return np.zeros(len(block), dtype=block.dtype)
    return np.maximum(block.max(axis=1), -block.min(axis=1))


class _Catalogue:
    """The item side of a ranking, split once per fitted model and ``blocked`` array: the
    columns that may be recommended (scored in full) and the blocked ones (scored only for
    each user's scale)."""

    def __init__(self, factors: np.ndarray, table: np.ndarray, blocked: np.ndarray) -> None:
        self.factors, self.blocked = factors, blocked
        self.open = np.flatnonzero(~blocked)
        self.open_factors = np.ascontiguousarray(factors[self.open])
        self.blocked_factors = np.ascontiguousarray(factors[blocked])
        self.table = np.ascontiguousarray(table[:, self.open])  # double precision
        self.quick_table = self.table.astype(np.float32)
        position = np.full(len(blocked), -1)
        position[self.open] = np.arange(len(self.open))
        self.position = position  # column -> open column (-1: blocked)

    def fits(self, factors: np.ndarray, blocked: np.ndarray) -> bool:
        return self.factors is factors and self.blocked is blocked


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
    _catalogue: _Catalogue = field(default=None, init=False, repr=False, compare=False)
    # Per scoring thread, the score blocks of the last chunk, reused: allocating a fresh
    # block of a chunk × catalogue floats costs more than filling it.
    _scratch: threading.local = field(
        default_factory=threading.local, init=False, repr=False, compare=False
    )

    @property
    def item_factors(self) -> np.ndarray:
        return self.als.item_factors

    def fit(self, user_items: sparse.csr_matrix) -> Blend:
        self.als.fit(user_items)
        self._catalogue = None
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
        scale = np.maximum(_largest_magnitude(raw).astype(np.float64), EPSILON)
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
        """Equal to ranking ``scores`` (see ``SINGLE_PRECISION_SLACK``) at a fraction of the
        traffic: blocked columns are never ranked, and blocks are reused between chunks."""
        order = (
            np.argsort(self._table_rows(rows), kind="stable")
            if self.weight
            else np.arange(len(rows))
        )
        ids, scores = self._ranked(rows[order], n, exclude, blocked)
        ids[order], scores[order] = ids.copy(), scores.copy()
        return ids, scores

    def _items(self, blocked: np.ndarray) -> _Catalogue:
        catalogue = self._catalogue
        if catalogue is None or not catalogue.fits(self.als.item_factors, blocked):
            table = self._table if self.weight else np.zeros((1, len(blocked)))
            catalogue = self._catalogue = _Catalogue(self.als.item_factors, table, blocked)
        return catalogue

    def _block(self, name: str, rows: int, width: int) -> np.ndarray:
        """A reusable ``rows × width`` single-precision block of this thread."""
        block = getattr(self._scratch, name, None)
        if block is None or block.shape[0] < rows or block.shape[1] != width:
            block = np.empty((rows, width), dtype=np.float32)
            setattr(self._scratch, name, block)
        return block[:rows]

    def _ranked(self, rows, n, exclude, blocked) -> tuple[np.ndarray, np.ndarray]:
        n = min(n, len(blocked))
        items = self._items(blocked)
        width = len(items.open)
        if len(rows) == 0 or n == 0 or width == 0:
            return np.zeros((len(rows), n), dtype=np.int64), np.full((len(rows), n), -np.inf)
        factors = self.als.user_factors[rows]
        raw = np.matmul(factors, items.open_factors.T, out=self._block("raw", len(rows), width))
        largest = np.maximum(
            _largest_magnitude(raw), _largest_magnitude(factors @ items.blocked_factors.T)
        )
        scale = np.maximum(largest.astype(np.float64), EPSILON)
        quick = np.multiply(
            raw,
            (1 / scale).astype(np.float32)[:, None],
            out=self._block("quick", len(rows), width),
        )
        table_rows = self._table_rows(rows) if self.weight else np.zeros(len(rows), np.int64)
        cuts = np.flatnonzero(np.diff(table_rows)) + 1
        for start, end in zip(np.r_[0, cuts], np.r_[cuts, len(rows)], strict=True):
            quick[start:end] += items.quick_table[table_rows[start]]
        excluded = exclude[rows].tocoo()
        column = items.position[excluded.col]
        kept = column >= 0
        quick[excluded.row[kept], column[kept]] = -np.inf
        row, column = candidates(quick, n, SINGLE_PRECISION_SLACK)
        exact = raw[row, column].astype(np.float64) / scale[row]
        exact += items.table[table_rows[row], column]
        exact[np.isneginf(quick[row, column])] = -np.inf
        ids, values = select(row, column, exact, len(rows), n)
        return items.open[ids], values

    def contributing_histories(
        self, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
    ) -> np.ndarray:
        """The ALS term's contributions: the department term comes from no borrowed book."""
        return self.als.contributing_histories(items, valid, history)
