"""Event recommendations: upcoming events with open registration and free seats, ranked by
what a patron attended, what they borrow and what their department signs up for.

New events have no attendance of their own: they are scored through their category (how much
the patron, or else the patron's department, attends that kind of event), the overlap of their
title with the patron's reading, and the registrations they already drew from the department.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field

import psycopg

# Events per patron on the portal.
ACTIVITY_N = 5
# Weights of the three signals, each in [0, 1]: a full subject match with the patron's loans
# outweighs a category habit, which outweighs the department's sign-ups.
CATEGORY_WEIGHT = 1.0
TOPIC_WEIGHT = 1.5
DEPARTMENT_WEIGHT = 0.5
# Pseudo-attendances of the department's (or library's) category mix added to a patron's own,
# so one past event does not decide everything and a newcomer inherits the department's mix.
CATEGORY_PRIOR = 2.0
# Pseudo-registrations at the department's share of all registrations, for events that drew
# few or none yet.
DEPARTMENT_PRIOR = 5.0
# The subject overlap explains a row once it contributes this much (a shared subject word
# is the most specific reason a librarian can give).
TOPIC_REASON_MIN = 0.2
# Title words used by more than this share of borrowed titles name a pattern, not a subject.
COMMON_WORD_SHARE = 0.05
# Title words shorter than this ("of", "in", "the") say nothing about a subject.
MIN_WORD = 4


@dataclass(frozen=True)
class Event:
    event_id: str
    title: str
    category: str


@dataclass(frozen=True)
class EventData:
    """Open upcoming events and the history needed to rank them."""

    upcoming: list[Event]
    attended: dict[str, Counter]  # user_key -> attended events per category
    registered: dict[str, set[str]]  # user_key -> event ids registered for (any status)
    registrants: dict[str, Counter]  # event_id -> registrations per department
    # department -> registrations per event category (any status): what the department signs
    # up for, the prior of its members' category taste.
    interest: dict[str, Counter] = field(default_factory=dict)


def read_events(conn: psycopg.Connection, departments: dict[str, str]) -> EventData:
    """Read the events open for registration with seats left, and attendance history."""
    upcoming = [
        Event(*row)
        for row in conn.execute(
            "select event_id, title, category from marts.dim_events "
            "where is_upcoming and registration_open and seats_left > 0 "
            "order by starts_at, event_id"
        ).fetchall()
    ]
    attended: dict[str, Counter] = {}
    registered: dict[str, set[str]] = {}
    registrants: dict[str, Counter] = {}
    interest: dict[str, Counter] = {}
    history = conn.execute(
        "select user_key, event_id, category, attended from marts.fct_event_attendance"
    ).fetchall()
    for user, event, category, came in history:
        registered.setdefault(user, set()).add(event)
        registrants.setdefault(event, Counter())[departments.get(user, "")] += 1
        interest.setdefault(departments.get(user, ""), Counter())[category] += 1
        if came:
            attended.setdefault(user, Counter())[category] += 1
    return EventData(upcoming, attended, registered, registrants, interest)


def words(title: str) -> set[str]:
    """Lower-case words of a title long enough to carry a subject."""
    return {word for word in re.findall(r"[^\W\d_]+", title.lower()) if len(word) >= MIN_WORD}


def _plural(category: str, count: int) -> str:
    label = category.replace("_", "-")
    return f"a {label} event" if count == 1 else f"{count} {label} events"


def recommend_events(
    data: EventData,
    users: list[str],
    departments: dict[str, str],
    loan_titles: dict[str, list[str]],
    n: int = ACTIVITY_N,
) -> list[tuple]:
    """Rank the open events for each user; rows ``(user_key, rank, event_id, score, reason)``.

    ``loan_titles`` holds the titles each user borrowed (for the subject overlap and its
    explanation). Users never get an event they registered for.
    """
    if not data.upcoming:
        return []
    library_mix = Counter()
    department_mix = {
        department: counts for department, counts in data.interest.items() if department
    }
    for counts in data.interest.values():
        library_mix.update(counts)
    department_totals = Counter()
    for counts in data.registrants.values():
        department_totals.update(counts)
    all_registrations = sum(department_totals.values()) or 1
    # Rare words name a subject ("algorithms"), common ones a pattern ("handbook", "book"):
    # an event word counts when some loan titles use it but at most COMMON_WORD_SHARE of them,
    # weighted by its inverse frequency among borrowed titles.
    frequency = Counter(w for titles in loan_titles.values() for t in titles for w in words(t))
    titles_total = sum(len(titles) for titles in loan_titles.values()) or 1
    event_words = {
        event.event_id: {
            w: math.log(1 + titles_total / frequency[w])
            for w in words(event.title)
            if 0 < frequency[w] <= COMMON_WORD_SHARE * titles_total
        }
        for event in data.upcoming
    }
    rows = []
    for user in users:
        department = departments.get(user, "")
        own = data.attended.get(user, Counter())
        prior = department_mix.get(department) or library_mix
        prior_total = sum(prior.values()) or 1
        own_total = sum(own.values())
        user_words: dict[str, str] = {}
        for title in loan_titles.get(user, []):
            for word in words(title):
                user_words.setdefault(word, title)
        taken = data.registered.get(user, set())
        scored = []
        for event in data.upcoming:
            if event.event_id in taken:
                continue
            weights = event_words[event.event_id]
            shared = sorted((w for w in weights if w in user_words), key=lambda w: -weights[w])
            drawn = data.registrants.get(event.event_id, Counter())
            from_department = drawn[department] if department else 0
            base = department_totals[department] / all_registrations if department else 0.0
            parts = {
                "category": CATEGORY_WEIGHT
                * (own[event.category] + CATEGORY_PRIOR * prior[event.category] / prior_total)
                / (own_total + CATEGORY_PRIOR),
                "topic": TOPIC_WEIGHT
                * sum(weights[w] for w in shared)
                / (sum(weights.values()) or 1),
                "department": DEPARTMENT_WEIGHT
                * (from_department + DEPARTMENT_PRIOR * base)
                / (sum(drawn.values()) + DEPARTMENT_PRIOR),
            }
            if shared and parts["topic"] >= TOPIC_REASON_MIN:
                reason = f"on a subject you read: 《{user_words[shared[0]]}》"
            elif own[event.category]:
                reason = f"you attended {_plural(event.category, own[event.category])}"
            elif from_department:
                readers = "a reader" if from_department == 1 else f"{from_department} readers"
                reason = f"{readers} from your department ({department}) signed up"
            else:
                reason = f"a {event.category.replace('_', '-')} event with seats left"
            scored.append((sum(parts.values()), event.event_id, reason))
        scored.sort(key=lambda item: (-item[0], item[1]))
        rows += [
            (user, rank, event_id, score, reason)
            for rank, (score, event_id, reason) in enumerate(scored[:n], 1)
        ]
    return rows
