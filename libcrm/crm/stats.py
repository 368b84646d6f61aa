"""The difference of two proportions with a confidence interval (Newcombe's hybrid score)."""

from __future__ import annotations

import math

from scipy.stats import binomtest

CONFIDENCE = 0.95


def wilson(reached: int, size: int, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """The Wilson score interval of ``reached / size`` (no continuity correction)."""
    interval = binomtest(reached, size).proportion_ci(confidence_level=confidence, method="wilson")
    return interval.low, interval.high


def difference_interval(
    reached_1: int, size_1: int, reached_2: int, size_2: int, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """``p1 - p2`` and its interval by Newcombe's hybrid score method (Newcombe 1998, method
    10), built from the two Wilson intervals.

    Newcombe rather than the textbook Wald interval: a control group is small (10% of the
    audience) and goal shares near 0 or 1 are common, where Wald's interval is too narrow and
    can leave [-1, 1]; Newcombe's keeps close to its nominal coverage there. scipy has Wilson's
    interval of one proportion but not this combination of two (statsmodels has it, but is not
    a dependency and is a large one for four lines), hence the lines below.

    Raises
    ------
    ValueError
        When a group is empty.
    """
    if size_1 < 1 or size_2 < 1:
        raise ValueError("the difference of two shares needs both groups non-empty")
    p1, p2 = reached_1 / size_1, reached_2 / size_2
    low_1, high_1 = wilson(reached_1, size_1, confidence)
    low_2, high_2 = wilson(reached_2, size_2, confidence)
    difference = p1 - p2
    low = difference - math.sqrt((p1 - low_1) ** 2 + (high_2 - p2) ** 2)
    high = difference + math.sqrt((high_1 - p1) ** 2 + (p2 - low_2) ** 2)
    return difference, low, high
