"""The validation split a selection is scored on: train before a cutoff, test on the loans
after it; the window is widened past a quiet fortnight (a vacation) until it holds enough
readers and loans to decide on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from scipy import sparse

from recsys import interactions
from recsys.evaluate import evaluable_users, new_interactions, random_split
from recsys.interactions import Weighting
from recsys.selection import Rules

# Validation windows tried in turn, ending on the last day of data: two weeks reflect today's
# reading best; a vacation fortnight holds too few readers, so the window grows up to eight
# weeks, which reaches back into term time from any vacation of the academic calendar but
# the summer's (where the selection then keeps its previous choice).
WINDOWS_DAYS = (14, 28, 42, 56)


@dataclass(frozen=True)
class Log:
    """Interactions on fixed axes; ``target`` marks the rows a test may ask for (loans; not
    purchase requests). ``times`` may be NaT (undated logs)."""

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray
    weights: np.ndarray
    target: np.ndarray
    all_users: np.ndarray
    all_items: np.ndarray


@dataclass
class Split:
    """A training side (built per weighting on demand) and a test matrix on the same axes."""

    log: Log
    before: np.ndarray  # rows of the log on the training side
    cutoff: np.datetime64 | None
    test: sparse.csr_matrix
    window_days: int = 0
    fixed_train: sparse.csr_matrix | None = None  # an undated split's training matrix
    _built: dict = field(default_factory=dict, repr=False)

    def train(self, weighting: Weighting) -> sparse.csr_matrix:
        """The training matrix under ``weighting``, decayed to the cutoff (built once)."""
        if weighting not in self._built:
            if self.fixed_train is not None:
                matrix = self.fixed_train
            else:
                log, before = self.log, self.before
                now = self.cutoff.astype(datetime)
                weights = interactions.weighted(
                    log.weights[before], log.times[before], now, weighting
                )
                matrix = interactions.build(
                    log.users[before], log.items[before], weights, log.all_users, log.all_items
                ).matrix
            self._built[weighting] = interactions.binarised(matrix, weighting)
        return self._built[weighting]

    def size(self) -> tuple[int, int]:
        """Evaluable readers and their new loans in the test window."""
        train = self.train(Weighting(None, binary=True))
        rows = evaluable_users(train, self.test)
        return len(rows), int(new_interactions(train, self.test)[rows].nnz)


def temporal(log: Log, cutoff: np.datetime64, window_days: int = 0) -> Split:
    """Train on everything before ``cutoff``, test on the target rows from it on."""
    before = log.times < cutoff
    after = (log.times >= cutoff) & log.target
    test = interactions.build(
        log.users[after], log.items[after], np.ones(after.sum()), log.all_users, log.all_items
    )
    return Split(log, before, cutoff, test.matrix, window_days)


def windowed(log: Log, end: datetime, rules: Rules) -> Split:
    """The shortest window of ``WINDOWS_DAYS`` before ``end`` (exclusive) that holds the readers
    and loans ``rules`` asks for and leaves a training side; else the widest that leaves one
    (the selection then keeps its previous choice and says why)."""
    chosen = None
    for days in WINDOWS_DAYS:
        split = temporal(log, np.datetime64(end - timedelta(days=days), "s"), days)
        if not split.before.any() and chosen is not None:
            break
        chosen = split
        readers, loans = split.size()
        if readers >= rules.min_readers and loans >= rules.min_loans:
            break
    return chosen


def undated(matrix: sparse.csr_matrix, fraction: float, seed: int, log: Log) -> Split:
    """A seeded random holdout of ``fraction`` of each reader's interactions (no dates)."""
    train, test = random_split(matrix, fraction, seed)
    return Split(log, np.zeros(0, dtype=bool), None, test, 0, fixed_train=train)
