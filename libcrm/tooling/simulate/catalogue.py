"""The simulated collection: item copies, and how much each taste cluster likes each book."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.clock import Timeline
from libcrm.tooling.simulate.profiles import DEFAULT, Profile
from libcrm.tooling.simulate.vocab import (
    DEPARTMENTS,
    FAMILY_NAMES,
    GENERAL_SUBJECTS,
    GIVEN_NAMES,
    NOVELS,
    SUBJECT_CODES,
    SUBJECTS,
    TITLE_PATTERNS,
    WESTERN_AUTHORS,
)

MATERIALS = ("book", "study_room", "locker", "laptop")
NONBOOK_SHARE = 0.05  # of item records: rooms, lockers and laptops
NONBOOK_MIX = (0.5, 0.3, 0.2)  # study rooms, lockers, laptops among the non-book items
REFERENCE_SHARE = 0.02  # books kept on the reference shelf: status not_for_loan
NEW_ACQUISITION_SHARE = 0.05  # books bought during the history (new in daily exports)
# Spread of a cluster's private liking of single books: what collaborative filtering finds
# beyond the popularity list.
AFFINITY_SIGMA = 1.2
NOVEL_SHARE = 0.2  # literature copies that are well-known novels (several copies each)
WESTERN_AUTHOR_SHARE = 0.5  # for foreign literature, languages and art

# How a taste cluster spreads its reading over subjects: the profile's related, side (one
# general-interest subject per cluster) and wander (everything else) shares, the rest in the
# department's core subject.


@dataclass(frozen=True)
class SimulatedCollection:
    """Items and the book-sampling tables.

    Attributes
    ----------
    items : pandas.DataFrame
        One row per item copy: exported fields plus ``subject``, ``acquired_day``, ``kind``
        (index into ``MATERIALS``) and ``reference``.
    books : numpy.ndarray
        Item positions of loanable books (the support of the sampling tables).
    cluster_cdf : numpy.ndarray
        Shape ``(clusters, len(books))``: cumulative choice probability per taste cluster.
    global_cdf : numpy.ndarray
        Cumulative choice probability of a patron browsing outside their taste.
    subject_taste : numpy.ndarray
        Shape ``(clusters, subjects)``: each cluster's share of reading per subject.
    hits : numpy.ndarray
        Shape ``(titles, copies)``: item positions of the copies of each title the whole
        library reads (the profile's ``hit_titles``), most read first; none by default.
    """

    items: pd.DataFrame
    books: np.ndarray
    cluster_cdf: np.ndarray
    global_cdf: np.ndarray
    subject_taste: np.ndarray
    hits: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int64))


def subject_tastes(
    clusters: int, per_department: int, rng: np.random.Generator, profile: Profile = DEFAULT
) -> np.ndarray:
    """Each cluster's share of loans per subject: mostly its department's subjects.

    The department's core subject gets what the related, side and wander shares leave; the
    side interest is drawn per cluster, so sibling clusters of a department differ in it.
    """
    shares = np.asarray([subject.share for subject in SUBJECTS])
    departments = list(DEPARTMENTS.values())
    taste = np.zeros((clusters, len(SUBJECTS)))
    for cluster in range(clusters):
        department = departments[cluster // per_department]
        taste[cluster] += profile.wander_share * shares / shares.sum()
        taste[cluster, SUBJECT_CODES.index(department[0])] += profile.core_share
        for code in department[1:]:
            related = profile.related_share / len(department[1:])
            taste[cluster, SUBJECT_CODES.index(code)] += related
        side = [code for code in GENERAL_SUBJECTS if code not in department]
        taste[cluster, SUBJECT_CODES.index(side[rng.integers(len(side))])] += profile.side_share
    return taste / taste.sum(axis=1, keepdims=True)


def simulate_catalogue(
    count: int,
    clusters: int,
    per_department: int,
    timeline: Timeline,
    rng: np.random.Generator,
    profile: Profile = DEFAULT,
) -> SimulatedCollection:
    """Draw ``count`` item copies and the taste tables of ``clusters`` clusters (spread over
    subjects, and with the copies of its most read titles, as the ``profile`` says)."""
    n_nonbook = max(len(NONBOOK_MIX), round(count * NONBOOK_SHARE))
    n_books = count - n_nonbook
    shares = np.asarray([subject.share for subject in SUBJECTS])
    subject = rng.choice(len(SUBJECTS), size=n_books, p=shares / shares.sum())
    kind = np.concatenate([np.zeros(n_books, dtype=np.int64), _nonbook_kinds(n_nonbook, rng)])

    popularity = np.zeros(n_books)
    for code in range(len(SUBJECTS)):
        members = np.flatnonzero(subject == code)
        rank = rng.permutation(len(members)) + 1
        popularity[members] = rank.astype(float) ** -profile.zipf_exponent
    reference = np.zeros(count, dtype=bool)
    reference[:n_books] = rng.random(n_books) < REFERENCE_SHARE

    acquired = -rng.integers(30, 20 * 365, size=count)
    bought = np.flatnonzero(rng.random(n_books) < NEW_ACQUISITION_SHARE)
    acquired[bought] = rng.integers(0, timeline.n_days, size=len(bought))

    items = _item_records(subject, kind, rng)
    items["acquired_day"] = acquired
    items["kind"] = kind
    items["reference"] = reference
    items["subject"] = np.concatenate([subject, np.full(n_nonbook, -1)])

    books = np.flatnonzero((kind == 0) & ~reference)
    taste = subject_tastes(clusters, per_department, rng, profile)
    book_subject, book_popularity = subject[books], popularity[books]
    global_weight = _within_subject(book_popularity, book_subject, shares / shares.sum())
    cluster_cdf = np.empty((clusters, len(books)))
    for cluster in range(clusters):
        liking = book_popularity * rng.lognormal(0.0, AFFINITY_SIGMA, size=len(books))
        cluster_cdf[cluster] = _cdf(_within_subject(liking, book_subject, taste[cluster]))
    hits = _hit_copies(items, subject, books, profile, rng)
    return SimulatedCollection(items, books, cluster_cdf, _cdf(global_weight), taste, hits)


def _hit_copies(
    items: pd.DataFrame,
    subject: np.ndarray,
    books: np.ndarray,
    profile: Profile,
    rng: np.random.Generator,
) -> np.ndarray:
    """Make ``profile.hit_titles`` groups of loanable books copies of one title each (same
    title, author, call number and class as the group's first); return their positions."""
    wanted = profile.hit_titles * profile.hit_copies
    if not wanted:
        return np.zeros((0, 0), dtype=np.int64)
    if wanted > len(books):
        raise ValueError(
            f"profile {profile.name}: {wanted} copies of its most read titles exceed the "
            f"{len(books)} loanable books; use a larger scale"
        )
    hits = rng.choice(books, size=wanted, replace=False).reshape(profile.hit_titles, -1)
    shared = ["title", "author", "call_number", "clc_class"]
    for copies in hits:
        items.loc[copies[1:], shared] = items.loc[copies[0], shared].to_numpy()
        items.loc[copies[1:], "subject"] = subject[copies[0]]
    return hits


def _nonbook_kinds(count: int, rng: np.random.Generator) -> np.ndarray:
    kinds = rng.choice(np.arange(1, len(MATERIALS)), size=count, p=NONBOOK_MIX)
    kinds[: len(NONBOOK_MIX)] = np.arange(1, len(MATERIALS))  # at least one of each
    return np.sort(kinds)


def _within_subject(weight: np.ndarray, subject: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Rescale weights so each subject's books together get that subject's share."""
    totals = np.bincount(subject, weights=weight, minlength=len(share))
    safe = np.where(totals > 0, totals, 1.0)
    return weight * share[subject] / safe[subject]


def _cdf(weight: np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(weight)
    return cumulative / cumulative[-1]


def draw_books(cdf: np.ndarray, books: np.ndarray, count: int, rng: np.random.Generator):
    """Draw ``count`` item positions from a cumulative table over ``books``."""
    picks = np.searchsorted(cdf, rng.random(count), side="right")
    return books[np.minimum(picks, len(books) - 1)]


def _item_records(subject: np.ndarray, kind: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Exported text fields of every item copy."""
    count, n_books = len(kind), len(subject)
    titles, authors, calls, classes = [], [], [], []
    topic_pick = rng.integers(0, 1_000_000, size=n_books)
    pattern_pick = rng.integers(0, len(TITLE_PATTERNS), size=n_books)
    novel = rng.random(n_books) < NOVEL_SHARE
    western = rng.random(n_books) < WESTERN_AUTHOR_SHARE
    given = rng.integers(0, len(GIVEN_NAMES), size=n_books)
    family = rng.integers(0, len(FAMILY_NAMES), size=n_books)
    klass = rng.integers(0, 1000, size=n_books)
    decimal = rng.integers(0, 100, size=n_books)
    cutter = rng.integers(1, 1000, size=n_books)
    for i in range(n_books):
        entry = SUBJECTS[subject[i]]
        topic = entry.topics[topic_pick[i] % len(entry.topics)]
        literary = entry.code in ("I2", "I5")
        if literary and novel[i]:
            titles.append(NOVELS[topic_pick[i] % len(NOVELS)])
        else:
            titles.append(TITLE_PATTERNS[pattern_pick[i]].format(topic=topic))
        if entry.code in ("I5", "H3", "J") and western[i]:
            authors.append(WESTERN_AUTHORS[family[i] % len(WESTERN_AUTHORS)])
        else:
            authors.append(f"{FAMILY_NAMES[family[i]]} {GIVEN_NAMES[given[i]]}")
        number = f"{klass[i] % 10**entry.digits:0{entry.digits}d}"
        fraction = f".{decimal[i]}" if decimal[i] % 3 else ""
        calls.append(f"{entry.prefix}{number}{fraction} {cutter[i]}")
        classes.append(entry.clc_class)
    labels = {1: ("Study room", "SR"), 2: ("Locker", "LK"), 3: ("Laptop", "LT")}
    serial = {1: 0, 2: 0, 3: 0}
    for material in kind[n_books:]:
        serial[material] += 1
        label, code = labels[material]
        titles.append(f"{label} {code}-{serial[material]:03d}")
        authors.append("")
        calls.append("")
        classes.append("")
    index = np.arange(count)
    return pd.DataFrame(
        {
            "item_id": [f"I{i + 1:07d}" for i in index],
            "barcode": [f"3{i + 1:09d}" for i in index],
            "title": titles,
            "author": authors,
            "call_number": calls,
            "clc_class": classes,
            "material_type": np.asarray(MATERIALS, dtype=object)[kind],
        }
    )
