"""Choosing a library's recommender on its own data: every candidate scored on one validation
split, with a bootstrap interval over readers; the simplest of the best is published, never
one that loses to the most-borrowed list, and never a choice made on too few readers."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse, stats

from recsys.candidates import BASELINE, Candidate, als_parts, build
from recsys.evaluate import Metrics, evaluable_users, holdout_lists, new_interactions
from recsys.interactions import Weighting

# Resamples of the readers per interval: the 2.5 and 97.5 percentiles of 1,000 resamples move
# by well under a tenth of the interval's width between seeds, at a cost of milliseconds.
BOOTSTRAP_RESAMPLES = 1000
CONFIDENCE = 0.95
SEED = 42
# At most this many readers are scored per candidate (a seeded sample of the evaluable ones):
# scoring then costs the same at any library size, and 5,000 readers still resolve the
# differences that matter (an interval of about ±0.004 HR@10 around 0.03).
SAMPLE_READERS = 5000
# Below these, the validation window is noise and nothing is decided on it: the summer-vacation
# night of a real university log evaluated 171 readers and scored 0 hits for every model. At
# the hit rates of real loan logs (HR@10 0.015-0.05), 250 readers give a handful of hits,
# and 400 new loans in the window keep single readers from dominating.
MIN_VALIDATION_READERS = 250
MIN_VALIDATION_LOANS = 400


@dataclass(frozen=True)
class Rules:
    """The limits of one selection (the constants above, unless a test sets its own)."""

    min_readers: int = MIN_VALIDATION_READERS
    min_loans: int = MIN_VALIDATION_LOANS
    sample_readers: int = SAMPLE_READERS
    resamples: int = BOOTSTRAP_RESAMPLES


DEFAULT_RULES = Rules()


@dataclass(frozen=True)
class Score:
    """One candidate on the validation split: its metrics, the bootstrap interval of its
    nDCG@10, and each scored reader's nDCG@10 (same readers, same order, for every one)."""

    candidate: Candidate
    metrics: Metrics
    ci_low: float
    ci_high: float
    per_reader: np.ndarray = field(repr=False)
    # Fitting and scoring it on the split (an ALS shared with an earlier candidate was fitted
    # in that one's time).
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return self.candidate.name


@dataclass(frozen=True)
class Choice:
    """What to publish and why; ``selected`` is false when the rules kept an earlier choice
    (or the baseline) instead of deciding on this split."""

    name: str
    selected: bool
    reason: str
    scores: list[Score]
    readers: int
    loans: int
    # The published candidate's nDCG@10 over the baseline's, with its bootstrap interval.
    ratio: tuple[float, float, float] = (float("nan"),) * 3

    def score(self, name: str) -> Score | None:
        return next((s for s in self.scores if s.name == name), None)


def _interval(statistic, data: tuple[np.ndarray, ...], rules: Rules) -> tuple[float, float]:
    if len(data[0]) < 2 or all(np.ptp(values) == 0 for values in data):
        # One reader, or every reader alike (e.g. no hits at all): no spread to resample.
        value = float(statistic(*data, axis=-1))
        return value, value
    with np.errstate(divide="ignore", invalid="ignore"):
        result = stats.bootstrap(
            data,
            statistic,
            paired=len(data) > 1,
            vectorized=True,
            n_resamples=rules.resamples,
            confidence_level=CONFIDENCE,
            method="percentile",
            random_state=SEED,
        )
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


def _mean(values, axis=-1):
    return np.mean(values, axis=axis)


def _ratio(values, baseline, axis=-1):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mean(values, axis=axis) / np.mean(baseline, axis=axis)


def score(
    candidates: Sequence[Candidate],
    train_for: Callable[[Weighting], sparse.csr_matrix],
    test: sparse.csr_matrix,
    blocked: np.ndarray,
    works: np.ndarray | None,
    user_groups: np.ndarray,
    item_classes: np.ndarray,
    rules: Rules = DEFAULT_RULES,
    starts=None,
) -> tuple[list[Score], int, int]:
    """Fit every candidate on its training matrix (``train_for(weighting)``) and score it on
    the same readers of ``test``; return the scores, the evaluable readers and their new
    loans in the window (before any sampling). ``starts`` (a ``recsys.warm.Starts``)
    is told of each candidate's ALS parts before and after its fit."""
    first = train_for(candidates[0].weighting)
    rows = evaluable_users(first, test)
    readers, loans = len(rows), int(new_interactions(first, test)[rows].nnz)
    if len(rows) > rules.sample_readers:
        rng = np.random.default_rng(SEED)
        rows = np.sort(rng.choice(rows, rules.sample_readers, replace=False))

    # Candidates holding the same ALS on the same matrix (als-blend holds als-decay's) fit it
    # once; a fitted ALS is held only until the last candidate that shares it is scored.
    def key(candidate: Candidate, als) -> tuple:
        return repr(als), candidate.weighting

    uses = Counter(
        key(c, als) for c in candidates for als in als_parts(build(c, user_groups, item_classes))
    )
    fitted: dict[tuple, object] = {}
    scores = []
    for candidate in candidates:
        started = time.perf_counter()
        model = build(candidate, user_groups, item_classes)
        train = train_for(candidate.weighting)
        parts = als_parts(model)
        if starts is not None:
            starts.before(candidate, parts)
        for als in parts:
            if key(candidate, als) in fitted:
                als.share(fitted[key(candidate, als)])
            elif uses[key(candidate, als)] > 1:
                fitted[key(candidate, als)] = als
        metrics, per_reader = holdout_lists(model, train, test, blocked, works, rows)
        if starts is not None:
            starts.after(candidate, parts)
        for als in parts:
            uses[key(candidate, als)] -= 1
            if not uses[key(candidate, als)]:
                fitted.pop(key(candidate, als), None)
        low, high = _interval(_mean, (per_reader,), rules)
        seconds = time.perf_counter() - started
        scores.append(Score(candidate, metrics, low, high, per_reader, seconds))
    return scores, readers, loans


def decide(
    scores: Sequence[Score],
    readers: int,
    loans: int,
    previous: str | None = None,
    rules: Rules = DEFAULT_RULES,
) -> Choice:
    """Publish the simplest candidate whose nDCG@10 is within the paired bootstrap interval of
    the best one's, among those that do not score below the most-borrowed list.

    With fewer readers or loans in the window than ``rules`` asks, nothing is decided: the
    ``previous`` choice (when it is still a candidate) or the baseline is kept.
    """
    names = [s.name for s in scores]
    if BASELINE not in names:
        raise ValueError(f"the candidates {names} lack the baseline {BASELINE!r}")
    baseline = scores[names.index(BASELINE)]
    if readers < rules.min_readers or loans < rules.min_loans:
        kept = previous if previous in names else BASELINE
        why = "the previous choice" if kept == previous else "the most-borrowed list"
        reason = (
            f"{kept} kept ({why}): the validation window holds {readers} readers and {loans} "
            f"new loans, under the minimum of {rules.min_readers} readers and "
            f"{rules.min_loans} loans needed to decide"
        )
        return make_choice(kept, False, reason, scores, readers, loans, rules)
    best = max(scores, key=lambda s: (s.metrics.ndcg_at_10, -s.candidate.complexity))
    eligible = []
    for s in scores:
        if s.metrics.ndcg_at_10 < baseline.metrics.ndcg_at_10:
            continue
        low, high = _interval(_mean, (s.per_reader - best.per_reader,), rules)
        if low <= 0 <= high or s is best:
            eligible.append(s)
    chosen = min(eligible, key=lambda s: s.candidate.complexity)
    reason = (
        f"{chosen.name} published: nDCG@10 {chosen.metrics.ndcg_at_10:.4f} "
        f"[{chosen.ci_low:.4f}, {chosen.ci_high:.4f}]"
        + (
            ""
            if chosen is best
            else f", the simplest within the interval of the best ({best.name} "
            f"{best.metrics.ndcg_at_10:.4f})"
        )
        + f"; most-borrowed list {baseline.metrics.ndcg_at_10:.4f}, on {readers} readers "
        f"and {loans} new loans"
    )
    return make_choice(chosen.name, True, reason, scores, readers, loans, rules)


def make_choice(
    name: str,
    selected: bool,
    reason: str,
    scores: Sequence[Score],
    readers: int,
    loans: int,
    rules: Rules = DEFAULT_RULES,
) -> Choice:
    """The choice of ``name`` among ``scores``, with its ratio to the baseline's nDCG@10."""
    chosen = next(s for s in scores if s.name == name)
    baseline = next(s for s in scores if s.name == BASELINE)
    ratio = float("nan")
    if baseline.metrics.ndcg_at_10 > 0:
        ratio = chosen.metrics.ndcg_at_10 / baseline.metrics.ndcg_at_10
    low, high = _interval(_ratio, (chosen.per_reader, baseline.per_reader), rules)
    return Choice(name, selected, reason, list(scores), readers, loans, (ratio, low, high))
