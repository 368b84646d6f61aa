"""Interactions as a sparse user × item matrix, with the id maps to go back and forth."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
from scipy import sparse

# A loan's weight halves every this many days: last month's reading says more about today's
# tastes than last year's.
HALF_LIFE_DAYS = 180.0
# What one event of each kind is worth relative to a loan: a purchase request for a title we
# hold says as much as a loan of it. Holds are not a training signal: on the simulated medium
# library they cut the model's HR@10 from 0.025 to 0.008 at weight 0.5 and never beat loans
# alone at any weight tried (docs/recommender.md).
SIGNAL_WEIGHTS = {"loan": 1.0, "purchase_request": 1.0}


@dataclass(frozen=True)
class Weighting:
    """How interactions become matrix weights: decayed to the training cutoff with
    ``half_life_days`` (``None``: no decay), and summed (counts) or counted once (binary)."""

    half_life_days: float | None = HALF_LIFE_DAYS
    binary: bool = False

    def applies_decay(self) -> bool:
        return self.half_life_days is not None


@dataclass(frozen=True)
class Interactions:
    """A user × item matrix of interaction weights and the ids of its rows and columns."""

    matrix: sparse.csr_matrix
    users: np.ndarray
    items: np.ndarray

    def user_index(self) -> dict[str, int]:
        return {user: row for row, user in enumerate(self.users)}

    def item_index(self) -> dict[str, int]:
        return {item: column for column, item in enumerate(self.items)}


def decay_weights(
    times: np.ndarray, now: datetime, half_life_days: float = HALF_LIFE_DAYS
) -> np.ndarray:
    """Return 2 ** (-age / half_life) for each timestamp (numpy datetime64) before ``now``."""
    age_days = (np.datetime64(now) - times.astype("datetime64[s]")) / np.timedelta64(1, "D")
    return np.power(2.0, -np.clip(age_days, 0, None) / half_life_days)


def weighted(weights: np.ndarray, times: np.ndarray, now, weighting: Weighting) -> np.ndarray:
    """``weights`` decayed to ``now`` as ``weighting`` says; undated (NaT) rows keep theirs."""
    out = np.asarray(weights, dtype=float).copy()
    dated = ~np.isnat(times)
    if weighting.applies_decay() and dated.any() and now is not None:
        out[dated] *= decay_weights(times[dated], now, weighting.half_life_days)
    return out


def binarised(matrix: sparse.csr_matrix, weighting: Weighting) -> sparse.csr_matrix:
    """``matrix`` itself, or with every stored weight set to 1 for a binary weighting."""
    if not weighting.binary:
        return matrix
    out = matrix.copy()
    out.data = np.ones_like(out.data)
    return out


def build(
    users: np.ndarray,
    items: np.ndarray,
    weights: np.ndarray,
    all_users: np.ndarray | None = None,
    all_items: np.ndarray | None = None,
) -> Interactions:
    """Sum the weights of (user, item) pairs into a CSR matrix.

    ``all_users``/``all_items`` fix the rows and columns (e.g. to keep a test split aligned
    with its training split); pairs outside them are dropped.
    """
    user_ids = np.unique(users if all_users is None else all_users)
    item_ids = np.unique(items if all_items is None else all_items)
    rows = np.searchsorted(user_ids, users)
    columns = np.searchsorted(item_ids, items)
    rows_ok = (rows < len(user_ids)) & (user_ids[np.minimum(rows, len(user_ids) - 1)] == users)
    cols_ok = (columns < len(item_ids)) & (
        item_ids[np.minimum(columns, len(item_ids) - 1)] == items
    )
    keep = rows_ok & cols_ok
    matrix = sparse.csr_matrix(
        (weights[keep].astype(np.float32), (rows[keep], columns[keep])),
        shape=(len(user_ids), len(item_ids)),
    )
    matrix.sum_duplicates()
    return Interactions(matrix, user_ids, item_ids)


def codes(values: np.ndarray) -> np.ndarray:
    """Integer codes of ``values`` (equal values share a code); empty or None values get -1."""
    values = np.asarray(values, dtype=object)
    missing = np.array([value is None or value == "" for value in values], dtype=bool)
    out = np.full(len(values), -1, dtype=np.int64)
    if (~missing).any():
        _, out[~missing] = np.unique(values[~missing].astype(str), return_inverse=True)
    return out


def exclude_same_work(seen: sparse.csr_matrix, works: np.ndarray) -> sparse.csr_matrix:
    """Extend a user × item "already had" matrix to every copy of the same work.

    ``works`` holds one code per item column (``-1``: a work of its own); a patron who read one
    copy of a novel is not offered the library's other copies of it.
    """
    grouped = works >= 0
    if not grouped.any():
        return seen.astype(bool).tocsr()
    columns = np.flatnonzero(grouped)
    membership = sparse.csr_matrix(
        (np.ones(len(columns), dtype=np.float32), (columns, works[grouped])),
        shape=(seen.shape[1], int(works.max()) + 1),
    )
    copies = (seen.astype(np.float32) @ membership) @ membership.T
    return ((copies + seen) > 0).tocsr()
