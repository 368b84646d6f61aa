"""Opinion leaders: a few heavy readers whose followers borrow what they borrowed, days later."""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.activity import is_active
from libcrm.tooling.simulate.clock import DAY, opening_seconds

LEADER_SHARE = 0.02  # of patrons
LEADER_ARCHETYPES = ("steady", "growing")  # leaders are long-term users
LEADER_RATE_BOOST = 1.5  # leaders read more than other users of their archetype
FOLLOWERS_PER_LEADER = (5, 15)  # inclusive range
# Chance that a follower borrows a given book of their leader: high enough to stand out
# from shared taste, low enough that followers still read mostly on their own.
COPY_PROBABILITY = 0.15
LEAD_DAYS = (3, 20)  # a follower borrows 3 to 20 days after the leader (inclusive)


def choose_leaders(patrons: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Mark opinion leaders and give each a group of followers from the same taste cluster.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons with ``archetype``, ``base_rate``, ``cluster`` and ``department``.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        A copy with ``is_leader`` (bool) and ``leader`` (position of the leader, -1 if none);
        leaders' ``base_rate`` is raised.
    """
    patrons = patrons.copy()
    count = len(patrons)
    eligible = np.flatnonzero(patrons["archetype"].isin(LEADER_ARCHETYPES).to_numpy())
    n_leaders = min(len(eligible), max(1, round(LEADER_SHARE * count)))
    rate = patrons["base_rate"].to_numpy()[eligible]
    leaders = np.sort(rng.choice(eligible, size=n_leaders, replace=False, p=rate / rate.sum()))

    is_leader = np.zeros(count, dtype=bool)
    is_leader[leaders] = True
    leader_of = np.full(count, -1, dtype=np.int64)
    cluster = patrons["cluster"].to_numpy()
    department = patrons["department"].to_numpy()
    for leader in leaders:
        free = np.flatnonzero((cluster == cluster[leader]) & ~is_leader & (leader_of < 0))
        other_department = department[free] != department[leader]
        # Followers come from the leader's own department first, at random within it.
        order = np.lexsort((rng.random(len(free)), other_department))
        wanted = rng.integers(FOLLOWERS_PER_LEADER[0], FOLLOWERS_PER_LEADER[1] + 1)
        leader_of[free[order[:wanted]]] = leader
    patrons["is_leader"] = is_leader
    patrons["leader"] = leader_of
    patrons.loc[is_leader, "base_rate"] *= LEADER_RATE_BOOST
    return patrons


def follower_wishes(
    patrons: pd.DataFrame, wishes: pd.DataFrame, n_days: int, rng: np.random.Generator
) -> pd.DataFrame:
    """Loan wishes of followers copying their leader's books a few days later.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons with ``leader``.
    wishes : pandas.DataFrame
        Everyone's own wishes (``patron``, ``item``, ``kind``, ``start``).
    n_days : int
        Simulated days; copies falling after them are dropped.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Extra wishes with the same columns, for active followers only.
    """
    leader_of = patrons["leader"].to_numpy()
    followers = pd.DataFrame({"follower": np.flatnonzero(leader_of >= 0)})
    followers["patron"] = leader_of[followers["follower"].to_numpy()]
    read = wishes.loc[wishes["kind"].eq(0) & patrons["is_leader"].to_numpy()[wishes["patron"]]]
    pairs = read.merge(followers, on="patron", how="inner", sort=False)
    pairs = pairs.sort_values(["start", "patron", "item", "follower"], kind="stable")
    pairs = pairs.loc[rng.random(len(pairs)) < COPY_PROBABILITY]
    lead = rng.integers(LEAD_DAYS[0], LEAD_DAYS[1] + 1, size=len(pairs))
    day = pairs["start"].to_numpy() // DAY + lead
    follower = pairs["follower"].to_numpy()
    keep = day < n_days
    keep[keep] = is_active(patrons, follower[keep], day[keep])
    day, follower, item = day[keep], follower[keep], pairs["item"].to_numpy()[keep]
    start = day * DAY + opening_seconds(rng, len(day))
    return pd.DataFrame(
        {"patron": follower, "item": item, "kind": np.zeros(len(day), np.int64), "start": start}
    )
