"""Library events (LibCal-like) and who registers for them, attends and rates them.

Events are announced weeks ahead, so every export day has upcoming events open for
registration. Patrons register for events on their subjects, when active; leaders are keener.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from libcrm.tooling.simulate.activity import lifecycle_on
from libcrm.tooling.simulate.catalogue import SimulatedCollection
from libcrm.tooling.simulate.clock import DAY, HOUR, MINUTE, NEVER, Timeline
from libcrm.tooling.simulate.influence import follower_registrations
from libcrm.tooling.simulate.vocab import (
    EVENT_ROOMS,
    LECTURE_PATTERNS,
    NOVELS,
    SUBJECTS,
    WORKSHOP_TOPICS,
)

CATEGORIES = ("lecture", "reading_club", "workshop", "reading_festival")
CATEGORY_MIX = (0.40, 0.25, 0.31, 0.04)
SEATS = ((80, 200), (15, 30), (20, 40), (300, 500))  # per category, inclusive
START_HOURS = ((14, 19), (19, 19), (10, 14), (9, 9))  # choices of start hour per category
LENGTH_MINUTES = ((90, 120), (120, 120), (90, 150), (480, 480))
FESTIVAL_DAYS = (1, 3)  # a reading festival runs over one to three days
OPEN_WITHOUT_REGISTRATION = 0.2  # lectures anyone can walk into
ANNOUNCED_DAYS_AHEAD = (7, 28)
FUTURE_DAYS = 35  # events are scheduled this far past the last day (announced, not held)
MOVED_SHARE = 0.08  # events moved to another room after announcement (a changed record)
FIRST_EVENT_ID = 1201
FIRST_REGISTRATION_ID = 88001
QUIET_UNTIL = 7 * HOUR  # online registrations between midnight and 07:00 are rare
FILL_BETA = (2.0, 2.0)  # how full an event gets, before scaling to the wanted volume
LITERATURE = ("I2", "I5")  # reading clubs discuss novels
LEADER_KEENNESS = 3.0  # opinion leaders register this much more readily
TASTE_FLOOR = 0.02  # anyone may come to any event
ATTEND_PROBABILITY = 0.72
LEADER_ATTEND_BONUS = 0.15
RATED_SHARE = 0.8  # attendees who leave a rating
RATING_MEAN, RATING_TASTE_BONUS, RATING_SIGMA = 3.6, 2.0, 0.9


def simulate_events(
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    timeline: Timeline,
    events_per_year: float,
    registrations_per_year: float,
    rng: np.random.Generator,
    influence_rng: np.random.Generator | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Simulate events and registrations.

    With ``influence_rng``, followers also sign up for events their opinion leader signed up
    for (``influence.follower_registrations``), drawn from that stream.

    Returns
    -------
    tuple of pandas.DataFrame
        Events (``event_id``, ``title``, ``category``, ``start``, ``end``, ``location``,
        ``seats``, ``registration``, ``published``, ``moved_at``, ``first_location``,
        ``subject``) and registrations (``registration_id``, ``event_id``, ``patron``,
        ``registered_at``, ``attended``, ``rating``, ``end``), both announced before the end of
        the simulation.
    """
    season = timeline.season(extra_days=FUTURE_DAYS)
    span = len(season)
    count = max(1, round(events_per_year * span / 365.0))
    day = np.sort(rng.choice(span, size=count, p=season / season.sum()))
    category = rng.choice(len(CATEGORIES), size=count, p=CATEGORY_MIX)
    shares = np.asarray([subject.share for subject in SUBJECTS])
    subject = rng.choice(len(SUBJECTS), size=count, p=shares / shares.sum())
    literature = [i for i, s in enumerate(SUBJECTS) if s.code in LITERATURE]
    clubs = category == 1
    subject[clubs] = rng.choice(literature, size=int(clubs.sum()))

    hour = np.asarray([rng.choice(START_HOURS[c]) for c in category])
    start = day * DAY + hour * HOUR + np.where(rng.random(count) < 0.5, 0, 30 * MINUTE)
    low, high = np.asarray(LENGTH_MINUTES).T
    length = rng.integers(low[category], high[category] + 1) * MINUTE
    extra_days = np.where(category == 3, rng.integers(*FESTIVAL_DAYS, count, endpoint=True), 1)
    end = start + length + (extra_days - 1) * DAY
    seat_low, seat_high = np.asarray(SEATS).T
    seats = rng.integers(seat_low[category], seat_high[category] + 1)
    registration = ~((category == 0) & (rng.random(count) < OPEN_WITHOUT_REGISTRATION))
    lead = rng.integers(*ANNOUNCED_DAYS_AHEAD, count, endpoint=True)
    published = (day - lead) * DAY + rng.integers(9 * HOUR, 17 * HOUR, count)

    # Halls for big events, reading rooms for clubs, seminar rooms otherwise; a moved event
    # swaps to the sibling room (Room 204 <-> Room 305, Hall A <-> Hall B, ...).
    big = seats > 100
    location = np.where(big, 2, np.where(clubs, 4, 0)) + rng.integers(0, 2, count)
    location[category == 3] = EVENT_ROOMS.index("Main Hall")
    moved = (rng.random(count) < MOVED_SHARE) & (category != 3)
    moved_at = np.full(count, NEVER, dtype=np.int64)
    delay = (rng.random(count) * (start - published)).astype(np.int64)
    moved_at[moved] = published[moved] + delay[moved]
    new_location = location ^ 1
    events = pd.DataFrame(
        {
            "title": _titles(category, subject, day, timeline, rng),
            "category": np.asarray(CATEGORIES, dtype=object)[category],
            "start": start,
            "end": end,
            "location": np.asarray(EVENT_ROOMS, dtype=object)[
                np.where(moved, new_location, location)
            ],
            "first_location": np.asarray(EVENT_ROOMS, dtype=object)[location],
            "seats": seats,
            "registration": registration,
            "published": published,
            "moved_at": moved_at,
            "subject": subject,
        }
    )
    events = events.loc[events["published"] < timeline.end]
    events = events.sort_values(["published", "start"], kind="stable", ignore_index=True)
    events.insert(0, "event_id", FIRST_EVENT_ID + np.arange(len(events)))
    wanted = registrations_per_year * span / 365.0
    registrations = _registrations(events, patrons, catalogue, wanted, timeline, rng, influence_rng)
    return events, registrations


def _titles(
    category: np.ndarray,
    subject: np.ndarray,
    day: np.ndarray,
    timeline: Timeline,
    rng: np.random.Generator,
) -> list[str]:
    pick = rng.integers(0, 1_000_000, size=len(category))
    titles = []
    for c, s, d, p in zip(category, subject, day, pick, strict=True):
        topic = SUBJECTS[s].topics[p % len(SUBJECTS[s].topics)]
        if c == 0:
            titles.append(LECTURE_PATTERNS[p % len(LECTURE_PATTERNS)].format(topic=topic))
        elif c == 1:
            titles.append(f"Reading club: {NOVELS[p % len(NOVELS)]}")
        elif c == 2:
            titles.append(f"Workshop: {WORKSHOP_TOPICS[p % len(WORKSHOP_TOPICS)]}")
        else:
            when = timeline.date_of(int(d))
            season_name = "Spring" if when.month < 9 else "Autumn"
            titles.append(f"Reading festival: {season_name} Reading Festival {when.year}")
    return titles


def _registrations(
    events: pd.DataFrame,
    patrons: pd.DataFrame,
    catalogue: SimulatedCollection,
    wanted: float,
    timeline: Timeline,
    rng: np.random.Generator,
    influence_rng: np.random.Generator | None,
) -> pd.DataFrame:
    """Who registers for each event (without repeats), when, and whether they came."""
    open_events = events.loc[events["registration"]]
    seats = open_events["seats"].to_numpy()
    demand = seats * rng.beta(*FILL_BETA, size=len(open_events))
    size = np.minimum(seats, rng.poisson(demand * _demand_factor(demand, seats, wanted)))
    keen = np.sqrt(patrons["base_rate"].to_numpy())
    keen = keen * np.where(patrons["is_leader"].to_numpy(), LEADER_KEENNESS, 1.0)
    taste = catalogue.subject_taste[patrons["cluster"].to_numpy()] + TASTE_FLOOR
    registered_day = patrons["registered_day"].to_numpy()
    parts = []
    for position, event in enumerate(open_events.itertuples(index=False)):
        day = int(event.start // DAY)
        weight = keen * taste[:, event.subject] * lifecycle_on(patrons, day, timeline.n_days)
        if size[position] == 0 or not (weight > 0).any():
            continue
        score = np.log(np.where(weight > 0, weight, 1e-300)) + rng.gumbel(size=len(weight))
        chosen = np.argsort(-score, kind="stable")[: min(size[position], int((weight > 0).sum()))]
        lower = np.maximum(event.published, registered_day[chosen] * DAY + 8 * HOUR)
        upper = event.start - HOUR
        moment = lower + (rng.random(len(chosen)) * (upper - lower)).astype(np.int64)
        night = moment % DAY < QUIET_UNTIL  # nobody registers at 3 a.m.: the evening before
        evening = moment - moment % DAY - rng.integers(HOUR, 3 * HOUR, len(moment))
        moment[night] = np.maximum(evening[night], lower[night])
        fits = (lower < upper) & (moment < timeline.end)
        parts.append(
            pd.DataFrame(
                {
                    "event_id": event.event_id,
                    "patron": chosen[fits],
                    "registered_at": moment[fits],
                    "match": taste[chosen[fits], event.subject],
                    "end": event.end,
                }
            )
        )
    registrations = pd.concat(parts, ignore_index=True) if parts else _empty_registrations()
    if influence_rng is not None:
        extra = follower_registrations(
            patrons, open_events, registrations, timeline.end, influence_rng
        )
        subject = open_events.set_index("event_id").loc[extra["event_id"]]
        extra["match"] = taste[extra["patron"].to_numpy(), subject["subject"].to_numpy()]
        extra["end"] = subject["end"].to_numpy()
        registrations = pd.concat([registrations, extra], ignore_index=True)
    registrations = registrations.sort_values(
        ["registered_at", "event_id", "patron"], kind="stable", ignore_index=True
    )
    leader = patrons["is_leader"].to_numpy()[registrations["patron"].to_numpy()]
    chance = ATTEND_PROBABILITY + LEADER_ATTEND_BONUS * leader
    attended = rng.random(len(registrations)) < chance
    rated = attended & (rng.random(len(registrations)) < RATED_SHARE)
    mean = RATING_MEAN + RATING_TASTE_BONUS * registrations["match"].to_numpy()
    rating = np.clip(np.rint(rng.normal(mean, RATING_SIGMA)), 1, 5)
    registrations["attended"] = attended
    registrations["rating"] = np.where(rated, rating, np.nan)
    registrations.insert(
        0, "registration_id", FIRST_REGISTRATION_ID + np.arange(len(registrations))
    )
    return registrations.drop(columns="match")


def _demand_factor(demand: np.ndarray, seats: np.ndarray, wanted: float) -> float:
    """The factor ``k`` with ``sum(min(seats, k * demand))`` close to ``wanted`` (bisection)."""
    low, high = 0.0, 1.0
    while np.minimum(seats, high * demand).sum() < wanted and high < 1e6:
        high *= 2.0
    for _ in range(50):
        middle = (low + high) / 2.0
        if np.minimum(seats, middle * demand).sum() < wanted:
            low = middle
        else:
            high = middle
    return high


def _empty_registrations() -> pd.DataFrame:
    columns = {"event_id": [], "patron": [], "registered_at": [], "match": [], "end": []}
    return pd.DataFrame(
        {name: np.asarray(values, dtype=np.int64) for name, values in columns.items()}
    )
