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

from recsys.models import Als, ItemNeighbours
from recsys.warehouse import Catalogue

SIMILAR_N = 10
# A work borrowed by fewer readers than this has factors (or co-borrowings) that say almost
# nothing about it: it gets no list and is in none.
MIN_READERS = 2
# ALS compares every work with at most this many others, the most read: comparing all pairs
# of the large library's 190,000 read works would take minutes a night, and a "more like this"
# list suggests books the library's readers borrow (the neighbours candidate compares only
# co-borrowed works, so it needs no such bound).
SIMILAR_TARGETS = 10_000
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


def _fitted_als(model):
    """implicit's fitted ALS inside a candidate (unwrapped from the class cap and the blend)."""
    inner = getattr(model, "model", model)
    als = getattr(inner, "als", inner)
    return als.implicit_fitted() if isinstance(als, Als) else None


def _by_factors(als, sources, allowed, readers, n) -> tuple[np.ndarray, np.ndarray]:
    """implicit's ``similar_items`` (cosine of item factors) among the ``SIMILAR_TARGETS``
    most read ``allowed`` works."""
    targets = np.flatnonzero(allowed)
    if len(targets) > SIMILAR_TARGETS:
        most_read = np.lexsort((targets, -readers[targets]))[:SIMILAR_TARGETS]
        targets = np.sort(targets[most_read])
    if not len(targets) or not len(sources):
        return np.zeros((len(sources), 0), dtype=np.int64), np.zeros((len(sources), 0))
    # One more than wanted: a work allowed as a target finds itself first.
    ids, scores = als.similar_items(sources, N=min(n + 1, len(targets)), items=targets)
    scores = np.asarray(scores, dtype=np.float64)
    scores[ids == sources[:, None]] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :n]
    return np.take_along_axis(ids, order, axis=1), np.take_along_axis(scores, order, axis=1)


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
    als = _fitted_als(model)
    if als is not None:
        ids, scores = _by_factors(als, sources, allowed, readers, n)
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
