"""Which book of a reader's history explains each recommendation ("because you borrowed …"):
the one that contributed most to the recommendation's score, not merely the most similar.

A model's score of a book for a reader is a sum over the reader's history: for ALS,
``y_i^T W_u (sum_j c_uj y_j)`` (Hu, Koren and Volinsky, section 5), which implicit's
``explain`` splits into one term per borrowed book; for item neighbours, ``sum_j r_uj
sim(j, i)``. The borrowed book with the largest term is the reason.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

# Users explained at once: bounds the users × history × factors blocks to tens of megabytes.
CHUNK_USERS = 256


def _users(items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix):
    """Each user with a history and something to explain: row, history columns, weights."""
    history = history.tocsr()
    history.sort_indices()
    for row in range(len(items)):
        start, end = history.indptr[row], history.indptr[row + 1]
        if start < end and valid[row].any():
            yield row, history.indices[start:end], history.data[start:end]


def als_contributions(
    model, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
) -> np.ndarray:
    """For every user's recommended items, the history item that contributed most to each.

    Parameters
    ----------
    model
        implicit's fitted ``AlternatingLeastSquares``.
    items
        ``users × n`` recommended item columns.
    valid
        ``users × n``: which slots hold a recommendation (others are ignored).
    history
        ``users × items``: row ``i`` is user ``i``'s row of the matrix ``model`` was fitted on
        (the weights, which become ALS confidences).

    Returns
    -------
    ``users × n`` item columns from each user's history: the largest term of implicit's
    ``explain`` for each slot; ``-1`` for empty slots and users without a history.
    """
    # implicit's explain, for many users' whole lists at once: explain walks the history in
    # Python once per recommended item (13 s for 4,000 readers' lists of ten on 2 cores);
    # the same algebra as batched matrix products takes a fraction of a second.
    # tests/test_recsys_explain.py checks every choice against explain itself.
    factors = np.asarray(model.item_factors, dtype=np.float64)
    base = np.asarray(model.YtY, dtype=np.float64) + model.regularization * np.eye(len(factors.T))
    out = np.full(items.shape, -1, dtype=np.int64)
    history = history.tocsr()
    history.sort_indices()
    lengths = np.diff(history.indptr)
    # Readers of similar history lengths together: little padding in each batch.
    order = np.argsort(lengths, kind="stable")
    order = order[(lengths[order] > 0) & valid[order].any(axis=1)]
    for start in range(0, len(order), CHUNK_USERS):
        _explain_chunk(
            factors, base, model.alpha, items, history, order[start : start + CHUNK_USERS], out
        )
    return np.where(valid, out, -1)


def _explain_chunk(factors, base, alpha, items, history, rows, out) -> None:
    lengths = np.diff(history.indptr)[rows]
    width = int(lengths.max())
    # The users' histories padded to one length: column positions and confidences (padding
    # gets confidence 1, which adds nothing to W_u^-1, and no term).
    position = np.arange(width)[None, :]
    present = position < lengths[:, None]
    entry = np.where(present, history.indptr[rows][:, None] + position, 0)
    past = np.where(present, history.indices[entry], 0)
    confidence = np.where(present, alpha * history.data[entry].astype(np.float64), 1.0)
    liked = factors[past] * present[..., None]  # users × history × factors
    # W_u^-1 = YtY + reg I + Y^T (C_u - I) Y, as implicit's user_linear_equation builds it.
    inverse = base + np.matmul((liked * (confidence - 1.0)[..., None]).transpose(0, 2, 1), liked)
    targets = factors[items[rows]].transpose(0, 2, 1)  # users × factors × slots
    weighted = np.linalg.solve(inverse, targets)
    terms = np.matmul(liked, weighted) * confidence[..., None]  # users × history × slots
    terms[~present] = -np.inf
    # explain keeps the largest (score, item) pair: ties go to the later (larger) column.
    best = width - 1 - np.argmax(terms[:, ::-1, :], axis=1)
    out[rows] = np.take_along_axis(past, best, axis=1)


def neighbour_contributions(
    similarity: sparse.csr_matrix, items: np.ndarray, valid: np.ndarray, history
) -> np.ndarray:
    """As ``als_contributions`` for item neighbours: the history item ``j`` with the largest
    ``r_uj × sim(j, i)`` (the first of equal ones, in column order)."""
    out = np.full(items.shape, -1, dtype=np.int64)
    for row, past, weights in _users(items, valid, history):
        block = similarity[past][:, items[row]].toarray() * weights[:, None]
        out[row] = past[np.argmax(block, axis=0)]
    return np.where(valid, out, -1)
