"""Turnstile passages: an ``in`` and an ``out`` per visit, with the glitches real gate logs have.

Every day a patron checks something out is a visit around those checkouts; further visit days
come from the same activity intensity as loans (studying without borrowing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.activity import activity_mass, poisson_counts, sample_days
from libcrm.tooling.simulate.clock import CLOSES, DAY, HOUR, MINUTE, NEVER, OPENS, opening_seconds

MISSING_EXIT_SHARE = 0.03  # exits not logged (tailgating, gate faults)
DOUBLE_SWIPE_SHARE = 0.01  # passages logged twice a few seconds apart
DOUBLE_SWIPE_SECONDS = (1, 5)
DWELL_MEDIAN = 2 * HOUR
DWELL_SIGMA = 0.6
DWELL_RANGE = (20 * MINUTE, 6 * HOUR)
ARRIVAL_BEFORE_CHECKOUT = (5 * MINUTE, 90 * MINUTE)
LEAVE_AFTER_CHECKOUT = (5 * MINUTE, 60 * MINUTE)
DOOR_QUEUE = 15 * MINUTE  # people queue at the door before opening ...
LAST_EXIT = CLOSES + 15 * MINUTE  # ... and leave up to a quarter hour after closing
# A few evening visits are logged leaving after midnight (a night-study room, a gate clock).
MIDNIGHT_SHARE = 0.002
AFTER_MIDNIGHT = (10 * MINUTE, 2 * HOUR)
VISIT_OVERSAMPLE = 1.2  # extra visit days drawn per visit wanted; repeats of a day merge
TOP_UP_ROUNDS = 4  # further draws when merged repeats left the volume short
# Arrivals per opening hour 08..21: few people come in for the last hour.
ARRIVAL_PROFILE = np.array(
    [0.10, 0.11, 0.09, 0.07, 0.05, 0.07, 0.09, 0.09, 0.07, 0.06, 0.07, 0.08, 0.04, 0.01]
)
GATE_WEIGHTS = (0.35, 0.30, 0.20, 0.15)  # G1 is by the main stairs
VISIT_RATE_EXPONENT = 0.5  # heavy borrowers visit more, but less than in proportion


def simulate_gate(
    patrons: pd.DataFrame,
    loans: pd.DataFrame,
    season: np.ndarray,
    passages_wanted: float,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Simulate turnstile passages.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons with ``base_rate`` and ``visit_rate``.
    loans : pandas.DataFrame
        Settled loans (``patron``, ``item``, ``start``, ``due``, ``returned``).
    season : numpy.ndarray
        Calendar weight per simulated day.
    passages_wanted : float
        Number of passages the simulation aims for.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Columns ``patron`` (position), ``time`` (seconds), ``direction`` (0 in, 1 out) and
        ``gate`` (0-based index into the gate ids), sorted by time.
    """
    n_days = len(season)
    anchors = _checkout_visits(loans, n_days)
    visits_wanted = passages_wanted / (2 - MISSING_EXIT_SHARE + 2 * DOUBLE_SWIPE_SHARE)
    extra_wanted = max(visits_wanted - len(anchors), 0.0)
    key = _extra_visits(patrons, season, anchors.index.to_numpy(), round(extra_wanted), rng)
    extra_day = key % n_days

    entry = extra_day * DAY + opening_seconds(rng, len(key), ARRIVAL_PROFILE)
    dwell = np.clip(rng.lognormal(np.log(DWELL_MEDIAN), DWELL_SIGMA, len(key)), *DWELL_RANGE)
    exit_ = np.minimum(entry + dwell.astype(np.int64), extra_day * DAY + LAST_EXIT)
    exit_ = np.maximum(exit_, entry + MINUTE)

    anchor_entry, anchor_exit = _around_checkouts(anchors, n_days, rng)

    visitor = np.concatenate([anchors.index.to_numpy() // n_days, key // n_days])
    entries = np.concatenate([anchor_entry, entry])
    exits = np.concatenate([anchor_exit, exit_])
    late = (rng.random(len(exits)) < MIDNIGHT_SHARE) & (exits % DAY >= CLOSES)
    exits[late] = (exits[late] // DAY + 1) * DAY + rng.integers(*AFTER_MIDNIGHT, int(late.sum()))
    return _passages(visitor, entries, exits, n_days * DAY, rng)


def checkout_passages(loans: pd.DataFrame, n_days: int, rng: np.random.Generator) -> pd.DataFrame:
    """Passages of the visits in which ``loans`` were checked out (one visit per patron-day).

    Parameters
    ----------
    loans : pandas.DataFrame
        Loans (``patron``, ``start``, ``returned``) whose checkout days need a visit.
    n_days : int
        Simulated days.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Passages shaped as those of ``simulate_gate``, sorted by time.
    """
    anchors = _checkout_visits(loans, n_days)
    entries, exits = _around_checkouts(anchors, n_days, rng)
    visitor = anchors.index.to_numpy() // n_days
    return _passages(visitor, entries, exits, n_days * DAY, rng)


def _around_checkouts(
    anchors: pd.DataFrame, n_days: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Entry and exit of each checkout visit: some minutes before the first checkout, some
    after the last presence."""
    anchor_day = anchors.index.to_numpy() % n_days
    first, last = anchors["first"].to_numpy(), anchors["last"].to_numpy()
    entry = np.maximum(
        first - rng.integers(*ARRIVAL_BEFORE_CHECKOUT, len(anchors)),
        anchor_day * DAY + OPENS - rng.integers(0, DOOR_QUEUE, len(anchors)),
    )
    exit_ = np.maximum(
        last + rng.integers(*LEAVE_AFTER_CHECKOUT, len(anchors)), entry + DWELL_RANGE[0]
    )
    exit_ = np.maximum(np.minimum(exit_, anchor_day * DAY + LAST_EXIT), last + MINUTE)
    return entry, exit_


def _extra_visits(
    patrons: pd.DataFrame,
    season: np.ndarray,
    taken: np.ndarray,
    wanted: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """Keys (patron * days + day) of ``wanted`` visit days without checkouts, in key order."""
    n_days = len(season)
    weight = patrons["visit_rate"].to_numpy() * activity_mass(patrons, season)
    weight = weight * patrons["base_rate"].to_numpy() ** VISIT_RATE_EXPONENT
    keys = np.zeros(0, dtype=np.int64)
    for _ in range(TOP_UP_ROUNDS):
        missing = wanted - len(keys)
        if missing <= 0:
            break
        counts = poisson_counts(weight, missing * VISIT_OVERSAMPLE, rng)
        patron, day = sample_days(patrons, season, counts, rng)
        drawn = np.unique(patron.astype(np.int64) * n_days + day)
        keys = np.union1d(keys, drawn[~np.isin(drawn, taken)])
    if len(keys) > wanted:
        keys = np.sort(rng.choice(keys, size=wanted, replace=False))
    return keys


def _checkout_visits(loans: pd.DataFrame, n_days: int) -> pd.DataFrame:
    """Visits implied by checkouts: per patron-day, the first checkout and the last presence."""
    start = loans["start"].to_numpy()
    returned = loans["returned"].to_numpy()
    same_day = (returned != NEVER) & (returned // DAY == start // DAY)
    presence = np.where(same_day, returned, start)  # a study-room session ends inside
    key = loans["patron"].to_numpy().astype(np.int64) * n_days + start // DAY
    frame = pd.DataFrame({"key": key, "first": start, "last": presence})
    return frame.groupby("key", sort=True).agg(first=("first", "min"), last=("last", "max"))


def _passages(
    visitor: np.ndarray, entries: np.ndarray, exits: np.ndarray, end: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Turn visits into passage rows, dropping some exits and doubling some swipes."""
    has_exit = rng.random(len(exits)) >= MISSING_EXIT_SHARE
    patron = np.concatenate([visitor, visitor[has_exit]]).astype(np.int32)
    time = np.concatenate([entries, exits[has_exit]]).astype(np.int64)
    direction = np.concatenate(
        [np.zeros(len(entries), np.int8), np.ones(int(has_exit.sum()), np.int8)]
    )
    gate = rng.choice(len(GATE_WEIGHTS), size=len(time), p=GATE_WEIGHTS).astype(np.int8)
    double = np.flatnonzero(rng.random(len(time)) < DOUBLE_SWIPE_SHARE)
    patron = np.concatenate([patron, patron[double]])
    time = np.concatenate([time, time[double] + rng.integers(*DOUBLE_SWIPE_SECONDS, len(double))])
    direction = np.concatenate([direction, direction[double]])
    gate = np.concatenate([gate, gate[double]])
    keep = time < end
    order = np.lexsort((direction[keep], patron[keep], time[keep]))
    return pd.DataFrame(
        {
            "patron": patron[keep][order],
            "time": time[keep][order],
            "direction": direction[keep][order],
            "gate": gate[keep][order],
        }
    )
