"""Which book of a reader's history explains each recommendation ("because you borrowed …")."""

from __future__ import annotations

import numpy as np
from scipy import sparse

# Guards the division by the length of an all-zero factor row.
EPSILON = 1e-12
# Users handled at once: keeps the (history × factors) blocks to a few megabytes.
CHUNK_USERS = 512


def unit_rows(factors: np.ndarray) -> np.ndarray:
    """Each row of ``factors`` divided by its length (cosine similarity becomes a dot product)."""
    return factors / (np.linalg.norm(factors, axis=1, keepdims=True) + EPSILON)


def _closest_chunk(
    unit: np.ndarray, items: np.ndarray, history: sparse.csr_matrix, out: np.ndarray
) -> None:
    lengths = np.diff(history.indptr)
    if not lengths.any():
        return
    owner = np.repeat(np.arange(len(items)), lengths)
    past = history.indices
    past_unit = unit[past]
    # similarity[j, s]: history entry j of its owner against the owner's slot s.
    similarity = np.empty((len(past), items.shape[1]), dtype=unit.dtype)
    for slot in range(items.shape[1]):
        similarity[:, slot] = np.einsum("jf,jf->j", past_unit, unit[items[owner, slot]])
    starts = history.indptr[:-1][lengths > 0]
    best = np.maximum.reduceat(similarity, starts, axis=0)
    position = np.where(
        similarity == best[np.repeat(np.arange(len(starts)), lengths[lengths > 0])],
        np.arange(len(past))[:, None],
        len(past),
    )
    first = np.minimum.reduceat(position, starts, axis=0)
    out[lengths > 0] = past[first]


def closest_history(
    unit: np.ndarray, items: np.ndarray, valid: np.ndarray, history: sparse.csr_matrix
) -> np.ndarray:
    """For every user's recommended items, the item of their history most like each one.

    Parameters
    ----------
    unit
        Unit-length item factors, one row per item column.
    items
        ``users × n`` recommended item columns.
    valid
        ``users × n``: which slots hold a recommendation (others are ignored).
    history
        ``users × items`` matrix whose row ``i`` holds user ``i``'s borrowed items.

    Returns
    -------
    ``users × n`` item columns from each user's history (the first of equally close ones,
    in column order); ``-1`` for empty slots and for users without a history.
    """
    history = history.tocsr()
    history.sort_indices()
    out = np.full(items.shape, -1, dtype=np.int64)
    for start in range(0, len(items), CHUNK_USERS):
        end = min(start + CHUNK_USERS, len(items))
        _closest_chunk(unit, items[start:end], history[start:end], out[start:end])
    return np.where(valid, out, -1)
