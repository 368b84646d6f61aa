"""Opinion leaders: a few heavy readers whose friends take up their reading, days or weeks later.

Followers are tied to a leader socially (the same taste cluster, the leader's department
first), not by the copies they borrow: after a leader borrows a book, each follower may take
up its subject (a book of the same CLC subject, now and then the very work) after a delay
drawn from a long-tailed distribution, and may sign up for the events the leader signs up for.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.activity import is_active
from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.clock import DAY, HOUR, opening_seconds

LEADER_SHARE = 0.02  # of patrons
LEADER_ARCHETYPES = ("steady", "growing")  # leaders are long-term users
LEADER_RATE_BOOST = 1.5  # leaders read more than other users of their archetype
FOLLOWERS_PER_LEADER = (5, 15)  # inclusive range
# Chance that a follower takes up a given book of their leader: high enough to stand out
# from shared taste, low enough that followers still read mostly on their own.
ADOPT_PROBABILITY = 0.25
# Of what is taken up, the share that is the very work the leader read ("you must read
# this"); the rest is another book of its subject ("I got into that after you").
SAME_WORK_SHARE = 0.4
# Delay from the leader's loan to the follower's wish: lognormal, median ten days, a long tail
# (some pick it up the next day, some after a term).
DELAY_MEDIAN_DAYS = 10.0
DELAY_SIGMA = 0.8
# Chance that a follower signs up for an event their leader signed up for, some hours to
# days later (they heard of it from the leader).
EVENT_FOLLOW_PROBABILITY = 0.3
EVENT_DELAY_MEDIAN_HOURS = 30.0
EVENT_DELAY_SIGMA = 1.0


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
    patrons: pd.DataFrame,
    wishes: pd.DataFrame,
    catalogue: SimulatedCollection,
    n_days: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Loan wishes of followers taking up the subjects (now and then the works) of their
    leader's books after a delay.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons with ``leader``.
    wishes : pandas.DataFrame
        Everyone's own wishes (``patron``, ``item``, ``kind``, ``start``).
    catalogue : SimulatedCollection
        The items, their subjects and the browsing table.
    n_days : int
        Simulated days; wishes falling after them are dropped.
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
    pairs = pairs.loc[rng.random(len(pairs)) < ADOPT_PROBABILITY]
    item = pairs["item"].to_numpy().copy()
    other = rng.random(len(pairs)) >= SAME_WORK_SHARE
    item[other] = _books_of_subjects(catalogue, item[other], rng)
    delay = rng.lognormal(np.log(DELAY_MEDIAN_DAYS), DELAY_SIGMA, size=len(pairs))
    start = pairs["start"].to_numpy() + (delay * DAY).astype(np.int64)
    day = start // DAY
    follower = pairs["follower"].to_numpy()
    keep = day < n_days
    keep[keep] = is_active(patrons, follower[keep], day[keep])
    day, follower, item = day[keep], follower[keep], item[keep]
    start = day * DAY + opening_seconds(rng, len(day))
    return pd.DataFrame(
        {"patron": follower, "item": item, "kind": np.zeros(len(day), np.int64), "start": start}
    )


def _books_of_subjects(
    catalogue: SimulatedCollection, items: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """For each item, another book of its subject, drawn by the library-wide popularity."""
    books = catalogue.books
    book_subject = catalogue.items["subject"].to_numpy()[books]
    weight = np.diff(catalogue.global_cdf, prepend=0.0)
    wanted = catalogue.items["subject"].to_numpy()[items]
    chosen = np.empty(len(items), dtype=np.int64)
    for subject in np.unique(wanted):
        rows = np.flatnonzero(wanted == subject)
        members = np.flatnonzero(book_subject == subject)
        cdf = np.cumsum(weight[members])
        picks = np.searchsorted(cdf / cdf[-1], rng.random(len(rows)), side="right")
        chosen[rows] = books[members[np.minimum(picks, len(members) - 1)]]
    return chosen


def follower_registrations(
    patrons: pd.DataFrame,
    events: pd.DataFrame,
    registrations: pd.DataFrame,
    end: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Registrations of followers signing up for the events their leader signed up for.

    Parameters
    ----------
    patrons : pandas.DataFrame
        Patrons with ``leader`` and ``is_leader``.
    events : pandas.DataFrame
        Events with ``event_id``, ``start`` and ``seats``.
    registrations : pandas.DataFrame
        Everyone's own registrations (``event_id``, ``patron``, ``registered_at``).
    end : int
        End of the simulation in seconds; later sign-ups are dropped.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        Extra registrations (``event_id``, ``patron``, ``registered_at``): a follower not yet
        registered, before the event's last hour, while seats are left.
    """
    leader_of = patrons["leader"].to_numpy()
    followers = pd.DataFrame({"follower": np.flatnonzero(leader_of >= 0)})
    followers["patron"] = leader_of[followers["follower"].to_numpy()]
    led = registrations.loc[patrons["is_leader"].to_numpy()[registrations["patron"].to_numpy()]]
    pairs = led.merge(followers, on="patron", how="inner", sort=False)
    pairs = pairs.sort_values(["registered_at", "event_id", "follower"], kind="stable")
    pairs = pairs.loc[rng.random(len(pairs)) < EVENT_FOLLOW_PROBABILITY]
    delay = rng.lognormal(np.log(EVENT_DELAY_MEDIAN_HOURS), EVENT_DELAY_SIGMA, len(pairs))
    moment = pairs["registered_at"].to_numpy() + (delay * HOUR).astype(np.int64)
    starts = events.set_index("event_id")["start"]
    latest = starts.loc[pairs["event_id"]].to_numpy() - HOUR
    follower = pairs["follower"].to_numpy()
    keep = (moment < latest) & (moment < end)
    # Active when signing up and on the day of the event (a graduate leaves before it).
    keep &= is_active(patrons, follower, moment // DAY) & is_active(
        patrons, follower, latest // DAY
    )
    extra = pd.DataFrame({"event_id": pairs["event_id"].to_numpy()[keep], "patron": follower[keep]})
    extra["registered_at"] = moment[keep]
    taken = registrations[["event_id", "patron"]].drop_duplicates()
    extra = extra.drop_duplicates(["event_id", "patron"])
    extra = extra.merge(taken, on=["event_id", "patron"], how="left", indicator=True)
    extra = extra.loc[extra["_merge"].eq("left_only")].drop(columns="_merge")
    seats = events.set_index("event_id")["seats"]
    booked = registrations.groupby("event_id").size()
    left = (seats - booked.reindex(seats.index, fill_value=0)).clip(lower=0)
    extra = extra.sort_values(["registered_at", "event_id", "patron"], kind="stable")
    place = extra.groupby("event_id").cumcount().to_numpy()
    extra = extra.loc[place < left.loc[extra["event_id"]].to_numpy()]
    return extra.reset_index(drop=True)
