"""The candidate recommenders a library's own data chooses between (docs/recommender.md).

Each candidate names its model, how loans become weights, and how simple it is: when two
candidates score within each other's interval the simpler one is published.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from recsys.blend import Blend
from recsys.interactions import HALF_LIFE_DAYS, Weighting
from recsys.models import Als, ClassPopularity, GroupPopularity, ItemNeighbours, Popularity
from recsys.rerank import Diversified

# Weight of "popular in my department" next to ALS (both scaled per user) in the blend.
DEPARTMENT_WEIGHT = 0.3
# No more than this many of a user's ten books from one CLC class (None: no cap); applied to
# every candidate, as to every published list; a tighter cap costs hit rate.
CLASS_CAP = 6
# The short half-life of "popular lately": a month of loans weighs most.
RECENT_HALF_LIFE_DAYS = 30.0
# Readers with fewer books in their history than this get their department's popular books
# instead of a personal candidate's list: one loan says too little about a reader.
MIN_HISTORY = 2
# The most-borrowed list every published choice must not lose to.
BASELINE = "popularity"

DECAYED = Weighting(HALF_LIFE_DAYS, binary=False)
COUNTS = Weighting(None, binary=False)
BINARY = Weighting(None, binary=True)

# How a candidate's lists are published: to everyone (a popularity list), or to readers with
# enough history (thin histories get their department's popular books).
EVERYONE, PERSONAL = "everyone", "personal"


@dataclass(frozen=True)
class Candidate:
    """One recommender of the set: ``make(user_groups, item_classes)`` builds it unfitted."""

    name: str
    complexity: int  # lower is simpler; the published choice is the simplest of the best
    weighting: Weighting
    make: Callable[[np.ndarray, np.ndarray], object]
    audience: str  # EVERYONE or PERSONAL
    description: str
    needs: str = ""  # "departments" or "classes": side information it cannot do without
    # The candidate this one equals on undated data (its decay then changes nothing).
    undated_twin: str = ""


def _als(factors: int, regularization: float, alpha: float):
    return lambda groups, classes: Als(factors, regularization, alpha)


CANDIDATES: tuple[Candidate, ...] = (
    Candidate(
        BASELINE,
        0,
        DECAYED,
        lambda groups, classes: Popularity(),
        EVERYONE,
        "most borrowed, loans decayed with a 180-day half-life",
    ),
    Candidate(
        "popularity-recent",
        1,
        Weighting(RECENT_HALF_LIFE_DAYS),
        lambda groups, classes: Popularity(),
        EVERYONE,
        "most borrowed lately, loans decayed with a 30-day half-life",
        undated_twin=BASELINE,
    ),
    Candidate(
        "popularity-department",
        2,
        DECAYED,
        lambda groups, classes: GroupPopularity(groups),
        EVERYONE,
        "most borrowed in the reader's department (180-day half-life)",
        needs="departments",
    ),
    Candidate(
        "popularity-class",
        3,
        DECAYED,
        lambda groups, classes: ClassPopularity(classes),
        PERSONAL,
        "most borrowed, weighted by the reader's share of loans in each CLC class",
        needs="classes",
    ),
    Candidate(
        "item-neighbours",
        4,
        BINARY,
        lambda groups, classes: ItemNeighbours(),
        PERSONAL,
        "item-to-item cosine neighbours (50 per item), binary loans, no decay",
    ),
    Candidate(
        "als-32-binary",
        5,
        BINARY,
        _als(32, 1.0, 10.0),
        PERSONAL,
        "ALS 32 factors, regularisation 1, alpha 10, binary loans, no decay",
    ),
    Candidate(
        "als-binary",
        6,
        BINARY,
        _als(64, 10.0, 5.0),
        PERSONAL,
        "ALS 64 factors, regularisation 10, alpha 5, binary loans, no decay",
    ),
    Candidate(
        "als-counts",
        7,
        COUNTS,
        _als(64, 10.0, 5.0),
        PERSONAL,
        "ALS 64 factors, regularisation 10, alpha 5, loan counts, no decay",
    ),
    Candidate(
        "als-decay",
        8,
        DECAYED,
        _als(64, 10.0, 5.0),
        PERSONAL,
        "ALS 64 factors, regularisation 10, alpha 5, loan counts, 180-day half-life",
        undated_twin="als-counts",
    ),
    Candidate(
        "als-blend",
        9,
        DECAYED,
        lambda groups, classes: Blend(Als(), GroupPopularity(groups), DEPARTMENT_WEIGHT),
        PERSONAL,
        "als-decay plus 0.3 x popularity in the reader's department (the library's, "
        "without one), each scaled per reader",
    ),
)
BY_NAME = {candidate.name: candidate for candidate in CANDIDATES}


def available(
    candidates: Sequence[Candidate], dated: bool, departments: bool, classes: bool
) -> list[Candidate]:
    """The candidates the data can tell apart: without dates a candidate that differs from
    another only by its decay is left out, and so is, without departments or classes, one
    that needs them."""
    have = {"departments": departments, "classes": classes, "": True}
    return [
        candidate
        for candidate in candidates
        if have[candidate.needs] and (dated or not candidate.undated_twin)
    ]


def als_parts(model) -> list[Als]:
    """The ALS models inside a built candidate (``build``): als-blend holds the ALS of
    als-decay, and the selection fits such a shared part once."""
    inner = model.model
    if isinstance(inner, Als):
        return [inner]
    return [inner.als] if isinstance(inner, Blend) else []


def build(candidate: Candidate, user_groups: np.ndarray, item_classes: np.ndarray) -> Diversified:
    """The candidate's model, unfitted, under the class cap every published list follows."""
    return Diversified(candidate.make(user_groups, item_classes), item_classes, CLASS_CAP)
