""" "More like this": for every work, the works most like it by the night's published model,
for ``portal.similar_items``.

An ALS model (alone or in the blend) compares works by the cosine of their item factors;
the neighbours candidate by its own cosine of co-borrowing. A popularity candidate has no
notion of likeness, so on its nights the neighbours candidate is fitted on the same matrix
for this list alone, and its rows say so in ``model_version``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import numpy as np
from scipy import sparse

from recsys.models import EPSILON, Als, ItemNeighbours
from recsys.topn import top_n
from recsys.warehouse import Catalogue

SIMILAR_N = 10
# A work borrowed by fewer readers than this has factors (or co-borrowings) that say almost
# nothing about it: it gets no list and is in none.
MIN_READERS = 2
# Works compared at once: keeps a block of works × catalogue scores to a few tens of MB.
CHUNK_WORKS = 1024
NEIGHBOURS_NAME = "item-neighbours"
COLUMNS = ("item_id", "rank", "similar_item_id", "score", "generated_for", "model_version")


@dataclass(frozen=True)
class Similar:
    """Per source work (a matrix column), its ``SIMILAR_N`` most similar columns, best first
    (``-inf`` scores mark empty slots), and the model that found them."""

    sources: np.ndarray
    targets: np.ndarray
    scores: np.ndarray
    model: str


def _unit_rows(factors: np.ndarray) -> np.ndarray:
    """Each row divided by its length: the cosine of two rows becomes their dot product."""
    return factors / (np.linalg.norm(factors, axis=1, keepdims=True) + EPSILON)


def _factors(model) -> np.ndarray | None:
    """The item factors of an ALS model, unwrapped from the class cap and the blend."""
    inner = getattr(model, "model", model)
    als = getattr(inner, "als", inner)
    return als.item_factors if isinstance(als, Als) else None


def _by_factors(factors, sources, allowed, n) -> tuple[np.ndarray, np.ndarray]:
    unit = _unit_rows(np.asarray(factors, dtype=np.float32))
    targets = np.flatnonzero(allowed)
    against = np.ascontiguousarray(unit[targets].T)
    ids = np.zeros((len(sources), min(n, len(targets))), dtype=np.int64)
    scores = np.full(ids.shape, -np.inf)
    for start in range(0, len(sources), CHUNK_WORKS):
        chunk = sources[start : start + CHUNK_WORKS]
        block = (unit[chunk] @ against).astype(np.float64)
        itself = np.searchsorted(targets, chunk)
        found = (itself < len(targets)) & (targets[np.minimum(itself, len(targets) - 1)] == chunk)
        block[np.flatnonzero(found), itself[found]] = -np.inf
        part_ids, scores[start : start + len(chunk)] = top_n(block, n)
        ids[start : start + len(chunk)] = targets[part_ids]
    return ids, scores


def _by_similarity(similarity: sparse.csr_matrix, sources, allowed, n):
    pairs = similarity[sources].tocoo()
    keep = allowed[pairs.col] & (sources[pairs.row] != pairs.col) & (pairs.data > 0)
    row, column, value = pairs.row[keep], pairs.col[keep], pairs.data[keep].astype(np.float64)
    order = np.lexsort((column, -value, row))
    row, column, value = row[order], column[order], value[order]
    rank = np.arange(len(row)) - np.searchsorted(row, row)
    kept = rank < n
    ids = np.zeros((len(sources), n), dtype=np.int64)
    scores = np.full((len(sources), n), -np.inf)
    ids[row[kept], rank[kept]] = column[kept]
    scores[row[kept], rank[kept]] = value[kept]
    return ids, scores


def similar_works(
    model, name: str, matrix: sparse.csr_matrix, blocked: np.ndarray, n: int = SIMILAR_N
) -> Similar:
    """The works most like each work read by ``MIN_READERS`` readers, by the fitted ``model``
    (published as ``name``); never the work itself nor a ``blocked`` one (no copy to lend)."""
    readers = np.diff((matrix > 0).tocsc().indptr)
    read = readers >= MIN_READERS
    sources = np.flatnonzero(read)
    allowed = read & ~blocked
    factors = _factors(model)
    if factors is not None:
        ids, scores = _by_factors(factors, sources, allowed, n)
        return Similar(sources, ids, scores, name)
    inner = getattr(model, "model", model)
    if not isinstance(inner, ItemNeighbours):
        inner, name = ItemNeighbours().fit((matrix > 0).astype(np.float32).tocsr()), ""
    ids, scores = _by_similarity(inner.similarity, sources, allowed, n)
    return Similar(sources, ids, scores, name or NEIGHBOURS_NAME)


def rows(
    similar: Similar,
    works: np.ndarray,
    shown: np.ndarray,
    copies: Iterable[tuple[str, str]],
    generated_for: date,
) -> list[tuple]:
    """``portal.similar_items`` rows (``COLUMNS``): every copy of a source work (``copies``
    holds ``(item_id, work)`` pairs) gets its work's list, each similar work as the copy the
    portal is given (``shown``, one per matrix column); ``works`` names the columns."""
    of_work = defaultdict(list)
    for item, work in copies:
        of_work[work].append(item)
    version = f"{similar.model}-{generated_for:%Y%m%d}"
    out = []
    for source, targets, scores in zip(
        similar.sources, similar.targets, similar.scores, strict=True
    ):
        valid = np.isfinite(scores)
        listed = list(zip(shown[targets[valid]].tolist(), scores[valid].tolist(), strict=True))
        for item in of_work.get(works[source], [works[source]]):
            out.extend(
                (item, rank, other, score, generated_for, version)
                for rank, (other, score) in enumerate(listed, 1)
            )
    return out


def for_night(model, name: str, axes, catalogue: Catalogue, generated_for: date) -> list[tuple]:
    """The night's ``portal.similar_items`` rows from the published candidate ``name``, fitted
    as ``model`` on ``axes`` (``recsys.resources.Axes``)."""
    works = axes.data.items
    shown = np.array([catalogue.shown_copies.get(work, work) for work in works], dtype=str)
    found = similar_works(model, name, axes.data.matrix, axes.blocked)
    return rows(found, works, shown, catalogue.work_of.items(), generated_for)
