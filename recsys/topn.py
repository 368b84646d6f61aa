"""The n best scores of every row of a dense score block: exact, fast, with a fixed tie order.

A full partition of every row (``argpartition``) costs far more than the scoring itself on a
catalogue of tens of thousands of books. Instead each row is cut into blocks; the n-th largest
block maximum bounds the row's n-th best score from below (n blocks reach it), so only the
few scores at or above that bound are sorted. Ties go to the lower column, so the same scores
always give the same list.
"""

from __future__ import annotations

import numpy as np

# Blocks per wanted slot: more blocks give a tighter bound (fewer candidates to sort) at the
# price of a longer partition of the block maxima; four keeps both well below one pass.
BLOCKS_PER_SLOT = 4


def candidates(scores: np.ndarray, n: int, slack: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of every score that may be among its row's ``n`` best (at least n).

    With ``slack`` > 0, also every score within ``slack`` below the bound: when ``scores``
    approximate the true ones to within ``slack / 2``, the true ``n`` best are among them.
    """
    rows, width = scores.shape
    n = min(n, width)
    block = max(width // (BLOCKS_PER_SLOT * n), 1)
    starts = np.arange(0, width, block)
    if len(starts) <= n:
        return np.divmod(np.arange(rows * width), width)
    maxima = np.maximum.reduceat(scores, starts, axis=1)
    bound = np.partition(maxima, len(starts) - n, axis=1)[:, len(starts) - n]
    # One flat scan: far faster than a two-dimensional nonzero on a wide block.
    return np.divmod(np.flatnonzero(scores >= bound[:, None] - slack), width)


def select(
    row: np.ndarray, column: np.ndarray, found: np.ndarray, rows: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """The ``n`` best of scattered ``(row, column, score)`` candidates per row, best first."""
    ids = np.zeros((rows, n), dtype=np.int64)
    values = np.full((rows, n), -np.inf)
    order = np.lexsort((column, -found, row))
    row, column, found = row[order], column[order], found[order]
    rank = np.arange(len(row)) - np.searchsorted(row, np.arange(rows))[row]
    kept = rank < n
    ids[row[kept], rank[kept]] = column[kept]
    values[row[kept], rank[kept]] = found[kept]
    return ids, values


def top_n(scores: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the column indices and scores of the ``n`` best scores per row, best first.

    Parameters
    ----------
    scores
        A dense ``rows × columns`` block; ``-inf`` marks a column the row must not get and
        sorts last, so a row with fewer than ``n`` finite scores ends in ``-inf`` slots.
    n
        Slots per row; more than the columns gives one slot per column.

    Returns
    -------
    ids, values
        ``rows × min(n, columns)`` arrays; equal scores are ordered by column.
    """
    rows, width = scores.shape
    n = min(n, width)
    if rows == 0 or n == 0:
        return np.zeros((rows, n), dtype=np.int64), np.full((rows, n), -np.inf)
    row, column = candidates(scores, n)
    return select(row, column, scores[row, column], rows, n)
