"""The simulated patrons: who they are (ILS record) and how they behave (hidden truth).

One row per patron. Dates are day indices relative to ``history_start`` (negative before it);
``never`` is ``NO_DAY``.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.clock import Timeline
from libcrm.tooling.simulate.profiles import DEFAULT, Profile
from libcrm.tooling.simulate.vocab import (
    DEPARTMENT_NAMES,
    DEPARTMENT_SHARES,
    FAMILY_NAMES,
    GIVEN_NAMES,
)

NO_DAY = 10**7  # a day index beyond any simulation: "never"

CATEGORIES = ("undergraduate", "graduate", "faculty", "staff")
CATEGORY_SHARES = DEFAULT.category_shares
# Loans per unit of activity relative to an undergraduate: graduates read the most.
CATEGORY_RATE = (1.0, 1.3, 0.8, 0.4)

ARCHETYPES = ("steady", "growing", "lapsing", "new", "occasional")
ARCHETYPE_SHARES = (0.20, 0.15, 0.20, 0.12, 0.33)
# Activity level of each archetype relative to an average patron (steady users are heavy).
ARCHETYPE_RATE = (2.5, 1.2, 1.5, 1.4, 0.25)
RATE_SPREAD = 0.5  # lognormal sigma of individual activity around the archetype level
NEW_FROM = 0.6  # "new" patrons register in the last 40 % of the history
LAPSE_WINDOW = (0.25, 0.8)  # "lapsing" patrons stop somewhere in this part of the history
NEW_PER_EXPORT_DAY = 2  # new registrations forced onto each later export day

CLUSTERS_PER_DEPARTMENT = 2
CROSS_DEPARTMENT_TASTE = 0.15  # share of patrons whose taste lies outside their department
OPT_OUT_SHARE = 0.03
OPT_OUT_AT_REGISTRATION = 0.7  # most refusals happen on the registration form
UNDERGRAD_YEARS, GRADUATE_YEARS = 4, 3
MEMBERSHIP_YEARS = (1, 5)  # faculty and staff cards are renewed every few years
NONBOOK_SHARE_BETA = (1.0, 3.5)  # per-patron share of study-room/locker/laptop loans
VISIT_SPREAD = 0.4  # lognormal sigma of how often a patron comes without borrowing


def academic_year(day: date) -> int:
    """The academic year (starting in September) a date belongs to."""
    return day.year if day.month >= 9 else day.year - 1


def simulate_patrons(
    count: int, timeline: Timeline, rng: np.random.Generator, profile: Profile = DEFAULT
) -> pd.DataFrame:
    """Draw ``count`` patrons with their ILS fields and hidden behaviour.

    Parameters
    ----------
    count : int
        Number of patrons.
    timeline : Timeline
        The simulated period.
    rng : numpy.random.Generator
        Source of randomness.
    profile : Profile
        The kind of library (its mix of undergraduates, graduates, faculty and staff).

    Returns
    -------
    pandas.DataFrame
        One row per patron, indexed 0..count-1; exported fields plus ``registered_day``,
        ``expires_day``, ``opt_out_day``, ``cluster``, ``archetype``, ``base_rate``,
        ``lapse_day``, ``nonbook_share`` and ``visit_rate``.
    """
    n_days = timeline.n_days
    index = np.arange(count)
    category = rng.choice(len(CATEGORIES), size=count, p=profile.category_shares)
    archetype = rng.choice(len(ARCHETYPES), size=count, p=ARCHETYPE_SHARES)
    department = rng.choice(len(DEPARTMENT_NAMES), size=count, p=_normalised(DEPARTMENT_SHARES))

    registered, enrolled = _registration(category, archetype, timeline, rng)
    expires = _expiry(category, enrolled, registered, timeline, rng)
    lapse = np.full(count, NO_DAY, dtype=np.int64)
    lapsing = archetype == ARCHETYPES.index("lapsing")
    low, high = (int(share * n_days) for share in LAPSE_WINDOW)
    lapse[lapsing] = rng.integers(low, max(high, low + 1), size=int(lapsing.sum()))
    lapse = np.maximum(lapse, registered + 21)

    rate = np.asarray(ARCHETYPE_RATE)[archetype] * np.asarray(CATEGORY_RATE)[category]
    rate = rate * rng.lognormal(0.0, RATE_SPREAD, size=count)
    cluster = department * CLUSTERS_PER_DEPARTMENT + rng.integers(
        0, CLUSTERS_PER_DEPARTMENT, size=count
    )
    elsewhere = rng.random(count) < CROSS_DEPARTMENT_TASTE
    cluster[elsewhere] = rng.integers(
        0, len(DEPARTMENT_NAMES) * CLUSTERS_PER_DEPARTMENT, size=int(elsewhere.sum())
    )

    opt_out = np.full(count, NO_DAY, dtype=np.int64)
    refusing = rng.random(count) < OPT_OUT_SHARE
    later = refusing & (rng.random(count) >= OPT_OUT_AT_REGISTRATION)
    opt_out[refusing] = registered[refusing]
    span_start = np.maximum(registered[later], 0)
    opt_out[later] = span_start + (rng.random(int(later.sum())) * (n_days - span_start)).astype(
        np.int64
    )

    given = rng.integers(0, len(GIVEN_NAMES), size=count)
    family = rng.integers(0, len(FAMILY_NAMES), size=count)
    names = [f"{GIVEN_NAMES[g]} {FAMILY_NAMES[f]}" for g, f in zip(given, family, strict=True)]
    student = category <= CATEGORIES.index("graduate")
    domain = np.where(student, "stu.example.edu.cn", "example.edu.cn")
    emails = [
        f"{GIVEN_NAMES[g].lower()}.{FAMILY_NAMES[f].lower()}{i + 1}@{d}"
        for g, f, i, d in zip(given, family, index, domain, strict=True)
    ]
    registered_year = pd.DatetimeIndex(timeline.dates(registered)).year.to_numpy()
    card_year = np.where(enrolled > 0, enrolled, registered_year)
    return pd.DataFrame(
        {
            "patron_id": [f"P{i + 1:06d}" for i in index],
            "barcode": [f"{y}{i + 1:06d}" for y, i in zip(card_year, index, strict=True)],
            "name": names,
            "email": emails,
            "birth_date": timeline.dates(_birth_day(category, enrolled, timeline, rng)),
            "category": np.asarray(CATEGORIES, dtype=object)[category],
            "department": np.asarray(DEPARTMENT_NAMES, dtype=object)[department],
            "enrolled_year": [str(y) if y > 0 else "" for y in enrolled],
            "registered_day": registered,
            "expires_day": expires,
            "opt_out_day": opt_out,
            "cluster": cluster,
            "archetype": np.asarray(ARCHETYPES, dtype=object)[archetype],
            "base_rate": rate,
            "lapse_day": lapse,
            "nonbook_share": rng.beta(*NONBOOK_SHARE_BETA, size=count),
            "visit_rate": rng.lognormal(0.0, VISIT_SPREAD, size=count),
        }
    )


def _normalised(shares: tuple[float, ...]) -> np.ndarray:
    values = np.asarray(shares, dtype=float)
    return values / values.sum()


def _registration(
    category: np.ndarray, archetype: np.ndarray, timeline: Timeline, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Registration day and enrolled year (0 for staff) of every patron."""
    count = len(category)
    # Everyone but the "new" archetype is there from the start of the history, every student
    # still studying then: cohorts in their final year graduate (their card expires on 1 July
    # and their activity stops) when the history runs past a summer. Within one academic
    # year nobody graduates and lifecycles come from the archetype alone.
    first_year = academic_year(timeline.history_start)
    earliest = np.minimum(
        (
            first_year - UNDERGRAD_YEARS + 1,
            first_year - GRADUATE_YEARS + 1,
            first_year - 25,
            first_year - 15,
        ),
        first_year,
    )
    enrolled = rng.integers(earliest[category], first_year + 1)
    september = pd.to_datetime([f"{year}-09-01" for year in enrolled])
    registered = (september - pd.Timestamp(timeline.history_start)).days.to_numpy()
    registered = registered + rng.integers(0, 21, size=count)

    new = archetype == ARCHETYPES.index("new")
    late = int(NEW_FROM * timeline.n_days)
    registered[new] = rng.integers(late, timeline.n_days, size=int(new.sum()))
    # Every later export day brings a few new patrons, so daily files have some.
    candidates = np.flatnonzero(new)
    later_days = [day for day in timeline.export_days[1:] for _ in range(NEW_PER_EXPORT_DAY)]
    chosen = candidates[: len(later_days)]
    registered[chosen] = later_days[: len(chosen)]
    registered = np.minimum(registered, timeline.n_days - 1)

    registration_dates = pd.DatetimeIndex(timeline.dates(registered))
    enrolment_of_new = np.where(
        registration_dates.month >= 9, registration_dates.year, registration_dates.year - 1
    )
    enrolled = np.where(new, enrolment_of_new, enrolled)
    enrolled[category == CATEGORIES.index("staff")] = 0
    return registered.astype(np.int64), enrolled.astype(np.int64)


def _expiry(
    category: np.ndarray,
    enrolled: np.ndarray,
    registered: np.ndarray,
    timeline: Timeline,
    rng: np.random.Generator,
) -> np.ndarray:
    """Card expiry day: students at graduation, faculty and staff at their next renewal."""
    study_years = np.where(category == 0, UNDERGRAD_YEARS, GRADUATE_YEARS)
    renewal = rng.integers(*MEMBERSHIP_YEARS, size=len(category), endpoint=True)
    registered_year = pd.DatetimeIndex(timeline.dates(registered)).year.to_numpy()
    last_year = max(registered_year.max(), timeline.last_day.year)
    employee_year = np.maximum(registered_year, last_year) + renewal
    year = np.where(category <= 1, enrolled + study_years, employee_year)
    month_day = np.where(category <= 1, "07-01", "08-31")
    expiry = pd.to_datetime([f"{y}-{md}" for y, md in zip(year, month_day, strict=True)])
    return (expiry - pd.Timestamp(timeline.history_start)).days.to_numpy().astype(np.int64)


def _birth_day(
    category: np.ndarray, enrolled: np.ndarray, timeline: Timeline, rng: np.random.Generator
) -> np.ndarray:
    """Birth day index: students by cohort, faculty and staff by working age."""
    count = len(category)
    age_at_enrolment = np.where(category == 0, 18, 22) + rng.integers(0, 3, size=count)
    reference = academic_year(timeline.history_start)
    employee_birth = reference - rng.integers(24, 62, size=count)
    year = np.where(category <= 1, enrolled - age_at_enrolment, employee_birth)
    start = pd.to_datetime([f"{y}-01-01" for y in year])
    days = (start - pd.Timestamp(timeline.history_start)).days.to_numpy()
    return days + rng.integers(0, 365, size=count)
