"""What patrons would like to borrow, and when: loan wishes before the circulation desk.

A wish is (patron, item or non-book kind, desired checkout time). Books come from the
patron's taste cluster (Zipf popularity times the cluster's own liking) or, now and then, from
the whole collection (in some profiles also from the few titles everyone reads); rooms,
lockers and laptops from a per-patron habit.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.activity import activity_mass, poisson_counts, sample_days
from libcrm.tooling.simulate.catalogue import SimulatedCollection, draw_books
from libcrm.tooling.simulate.clock import DAY, opening_seconds
from libcrm.tooling.simulate.profiles import DEFAULT, Profile

# The most read titles are read in proportion to 1 / rank ** this (the first the most).
HIT_ZIPF_EXPONENT = 1.0
NONBOOK_KIND_MIX = (0.6, 0.15, 0.25)  # study rooms, lockers, laptops (kinds 1, 2, 3)

WISH_COLUMNS = ("patron", "item", "kind", "start")


def draw_wishes(
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    season: np.ndarray,
    wishes_wanted: float,
    rng: np.random.Generator,
    profile: Profile = DEFAULT,
) -> pd.DataFrame:
    """Draw the loan wishes of all patrons.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons with ``base_rate``, ``cluster`` and ``nonbook_share``.
    catalogue : SimulatedCollection
        Items and taste tables.
    season : numpy.ndarray
        Calendar weight per simulated day.
    wishes_wanted : float
        Expected number of wishes (more than the loans wanted: the desk turns some down).
    rng : numpy.random.Generator
        Source of randomness.
    profile : Profile
        The kind of library: how often patrons browse outside their taste, and the share of
        book wishes that go to the titles everyone reads (``catalogue.hits``).

    Returns
    -------
    pandas.DataFrame
        Columns ``patron`` (position), ``item`` (position, -1 for non-book wishes), ``kind``
        (0 book, 1 study room, 2 locker, 3 laptop) and ``start`` (seconds).
    """
    weight = patrons["base_rate"].to_numpy() * activity_mass(patrons, season)
    counts = poisson_counts(weight, wishes_wanted, rng)
    patron, day = sample_days(patrons, season, counts, rng)
    size = len(patron)
    start = day * DAY + opening_seconds(rng, size)

    nonbook = rng.random(size) < patrons["nonbook_share"].to_numpy()[patron]
    kind = np.zeros(size, dtype=np.int64)
    kind[nonbook] = 1 + rng.choice(
        len(NONBOOK_KIND_MIX), size=int(nonbook.sum()), p=NONBOOK_KIND_MIX
    )

    item = np.full(size, -1, dtype=np.int64)
    explore = ~nonbook & (rng.random(size) < profile.explore_share)
    item[explore] = draw_books(catalogue.global_cdf, catalogue.books, int(explore.sum()), rng)
    cluster = patrons["cluster"].to_numpy()[patron]
    tasteful = ~nonbook & ~explore
    for code in range(catalogue.cluster_cdf.shape[0]):
        members = np.flatnonzero(tasteful & (cluster == code))
        if len(members):
            item[members] = draw_books(
                catalogue.cluster_cdf[code], catalogue.books, len(members), rng
            )
    if catalogue.hits.size and profile.hit_share:
        hit = np.flatnonzero(~nonbook & (rng.random(size) < profile.hit_share))
        item[hit] = _hit_copy(catalogue.hits, len(hit), rng)
    return pd.DataFrame({"patron": patron, "item": item, "kind": kind, "start": start})


def _hit_copy(hits: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` copies of the most read titles: a title by its rank's Zipf weight (the first
    is read most), then any of its copies."""
    weight = np.arange(1, len(hits) + 1, dtype=float) ** -HIT_ZIPF_EXPONENT
    title = rng.choice(len(hits), size=count, p=weight / weight.sum())
    return hits[title, rng.integers(0, hits.shape[1], size=count)]
