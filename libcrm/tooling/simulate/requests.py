"""Purchase requests: patrons asking the library to buy a book, and what became of it.

Part of the books bought during the history were requested by a patron (patron-driven
acquisition): the requester is the book's first borrower, who asked some weeks before it
arrived. Other requests are for books the library never bought: rejected, ordered but not yet
arrived, or still waiting for a decision at the end of the history.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.clock import DAY, HOUR, NEVER, Timeline, opening_seconds
from libcrm.tooling.simulate.vocab import FAMILY_NAMES, GIVEN_NAMES, SUBJECTS, TITLE_PATTERNS

REQUESTED_SHARE = 0.4  # of books bought during the history that a patron had asked for
LEAD_DAYS = (7, 45)  # a requested book arrives this many days after the request
DECISION_SHARE = 0.3  # the order is placed this far into the wait for the book ...
DECISION_HOUR = 10  # ... in the acquisitions team's morning
ARRIVAL_HOUR = 15  # new books are catalogued in the afternoon
OTHER_REQUESTS_RATIO = 1.2  # requests not bought (yet) per request that was bought
DECISION_DAYS = (2, 21)  # acquisitions decides on a request within this many days
REJECTED_SHARE = 0.55  # of decided requests never bought: out of scope, too dear, held already
ISBN_PREFIX = "9787"  # EAN prefix 978 with registration group 7 (China)

REQUEST_COLUMNS = (
    "patron",
    "title",
    "author",
    "isbn",
    "clc_class",
    "requested",
    "decided",
    "arrived",
    "item",
    "outcome",
)


def simulate_requests(
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    loans: pd.DataFrame,
    timeline: Timeline,
    rng: np.random.Generator,
) -> pd.DataFrame:
    """Draw the purchase requests of the history.

    Parameters
    ----------
    patrons, catalogue, loans : as simulated
        Loans give each bought book's first borrower.
    timeline : Timeline
        The simulated period.
    rng : numpy.random.Generator
        Source of randomness.

    Returns
    -------
    pandas.DataFrame
        One row per request with ``REQUEST_COLUMNS``: times in seconds (``NEVER`` when not
        happened), ``item`` the bought item's position (-1 if none) and ``outcome``
        (``purchased``, ``ordered`` or ``rejected``; a request is pending until ``decided``).
    """
    bought = _bought(patrons, catalogue, loans, rng)
    others = _not_bought(
        patrons, catalogue, timeline, round(len(bought) * OTHER_REQUESTS_RATIO), rng
    )
    table = pd.concat([bought, others], ignore_index=True)
    table["isbn"] = _isbns(len(table), rng)
    return table.sort_values("requested", kind="stable", ignore_index=True)[list(REQUEST_COLUMNS)]


def _bought(
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    loans: pd.DataFrame,
    rng: np.random.Generator,
) -> pd.DataFrame:
    items = catalogue.items
    acquired = items["acquired_day"].to_numpy()
    first = loans.drop_duplicates("item")  # loans are sorted by checkout time
    new = first.loc[(acquired[first["item"].to_numpy()] > 0)]
    new = new.loc[rng.random(len(new)) < REQUESTED_SHARE]
    item, patron = new["item"].to_numpy(), new["patron"].to_numpy()
    arrival_day = acquired[item]
    day = np.maximum(
        arrival_day - rng.integers(*LEAD_DAYS, size=len(item)),
        np.maximum(patrons["registered_day"].to_numpy()[patron], 0),
    )
    keep = day < arrival_day
    item, patron, day, arrival_day = item[keep], patron[keep], day[keep], arrival_day[keep]
    requested = day * DAY + opening_seconds(rng, len(item))
    arrived = arrival_day * DAY + ARRIVAL_HOUR * HOUR
    decided_day = day + np.maximum(1, ((arrival_day - day) * DECISION_SHARE).astype(np.int64))
    decided = decided_day * DAY + DECISION_HOUR * HOUR + rng.integers(0, HOUR, size=len(item))
    return pd.DataFrame(
        {
            "patron": patron,
            "title": items["title"].to_numpy()[item],
            "author": items["author"].to_numpy()[item],
            "clc_class": items["clc_class"].to_numpy()[item],
            "requested": requested,
            "decided": decided,
            "arrived": arrived,
            "item": item,
            "outcome": "purchased",
        }
    )


def _not_bought(
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    timeline: Timeline,
    count: int,
    rng: np.random.Generator,
) -> pd.DataFrame:
    registered = np.maximum(patrons["registered_day"].to_numpy(), 0)
    weight = patrons["base_rate"].to_numpy() * (registered < timeline.n_days)
    patron = rng.choice(len(patrons), size=count, p=weight / weight.sum())
    # Up to the end of the history, or the last day of the card (graduates ask for nothing).
    last = np.minimum(patrons["expires_day"].to_numpy()[patron] + 1, timeline.n_days)
    span = np.maximum(last - registered[patron], 0)
    day = registered[patron] + (rng.random(count) * span).astype(np.int64)
    requested = day * DAY + opening_seconds(rng, count)
    decided = requested + rng.integers(*DECISION_DAYS, size=count) * DAY
    decided = np.where(decided < timeline.end, decided, NEVER)
    taste = catalogue.subject_taste[patrons["cluster"].to_numpy()[patron]]
    subject = (rng.random((count, 1)) > np.cumsum(taste, axis=1)).sum(axis=1)
    subject = np.minimum(subject, len(SUBJECTS) - 1)
    topic = rng.integers(0, 1_000_000, size=count)
    pattern = rng.integers(0, len(TITLE_PATTERNS), size=count)
    family = rng.integers(0, len(FAMILY_NAMES), size=count)
    given = rng.integers(0, len(GIVEN_NAMES), size=count)
    titles, authors, classes = [], [], []
    for k in range(count):
        entry = SUBJECTS[subject[k]]
        titles.append(
            TITLE_PATTERNS[pattern[k]].format(topic=entry.topics[topic[k] % len(entry.topics)])
        )
        authors.append(f"{FAMILY_NAMES[family[k]]} {GIVEN_NAMES[given[k]]}")
        classes.append(entry.clc_class)
    rejected = rng.random(count) < REJECTED_SHARE
    return pd.DataFrame(
        {
            "patron": patron,
            "title": titles,
            "author": authors,
            "clc_class": classes,
            "requested": requested,
            "decided": decided,
            "arrived": NEVER,
            "item": -1,
            "outcome": np.where(rejected, "rejected", "ordered"),
        }
    )


def _isbns(count: int, rng: np.random.Generator) -> list[str]:
    """Valid ISBN-13s of the Chinese registration group (check digit included)."""
    body = rng.integers(0, 10**8, size=count)
    numbers = []
    for value in body:
        digits = f"{ISBN_PREFIX}{value:08d}"
        total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits))
        numbers.append(digits + str((10 - total % 10) % 10))
    return numbers


def request_status(table: pd.DataFrame, high: int) -> np.ndarray:
    """Each request's status at time ``high`` (exclusive)."""
    outcome = table["outcome"].to_numpy()
    decided = table["decided"].to_numpy() < high
    arrived = table["arrived"].to_numpy() < high
    status = np.where(outcome == "rejected", "rejected", "ordered").astype(object)
    status[outcome == "purchased"] = "ordered"
    status[arrived] = "purchased"
    status[~decided] = "pending"
    return status
