"""Event recommendations: upcoming events with open registration and free seats, ranked by
what a patron attended, what they borrow and what their department signs up for.

New events have no attendance of their own: they are scored through their category (how much
the patron, or else the patron's department, attends that kind of event), the overlap of their
title with the patron's reading, and the registrations they already drew from the department.
"""

from __future__ import annotations

import logging
import math
import re
from collections import Counter
from dataclasses import dataclass, field

import jieba
import numpy as np
import psycopg

from recsys.reasons import Reason

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
# ... but a Chinese word of two characters does (算法, 机器, 学习); one character (与, 的) not.
MIN_CHINESE_WORD = 2
CHINESE = re.compile(r"[\u3400-\u9fff]")
LETTERS = re.compile(r"[^\W\d_]+")
# jieba announces loading its dictionary on the root logger's stderr; that is no news.
jieba.setLogLevel(logging.WARNING)


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
    """Lower-case words of a title long enough to carry a subject.

    Titles split at anything but letters; a run of letters with Chinese in it is segmented
    further with jieba (Chinese has no spaces: its dictionary finds 机器 and 学习 in
    机器学习入门), so titles in other scripts split exactly as before.
    """
    found = set()
    for run in LETTERS.findall(title.lower()):
        for word in jieba.lcut(run) if CHINESE.search(run) else (run,):
            shortest = MIN_CHINESE_WORD if CHINESE.search(word) else MIN_WORD
            if len(word) >= shortest and LETTERS.fullmatch(word):
                found.add(word)
    return found


def recommend_events(
    data: EventData,
    users: list[str],
    departments: dict[str, str],
    loan_titles: dict[str, list[str]],
    n: int = ACTIVITY_N,
    dismissed: dict[str, set[str]] | None = None,
) -> list[tuple]:
    """Rank the open events for each user; rows ``(user_key, rank, event_id, score, reason)``
    with a :class:`~recsys.reasons.Reason`.

    ``loan_titles`` holds the titles each user borrowed (for the subject overlap and its
    explanation). Users never get an event they registered for, nor one they ``dismissed``
    on the portal (``user_key -> event ids``). Each signal is scored for all
    users and events at once; ties go to the smaller event id.
    """
    if not data.upcoming or not users:
        return []
    events = sorted(data.upcoming, key=lambda event: event.event_id)
    subjects = _Subjects(events, loan_titles)
    category = _category_term(data, events, users, departments)
    topic = subjects.term(users)
    department, from_department = _department_term(data, events, users, departments)
    scores = category + topic + department
    index = {event.event_id: column for column, event in enumerate(events)}
    for row, user in enumerate(users):
        refused = data.registered.get(user, set()) | (dismissed or {}).get(user, set())
        taken = [index[event] for event in refused if event in index]
        scores[row, taken] = -np.inf
    order = np.argsort(-scores, axis=1, kind="stable")[:, :n]
    rows = []
    for row, user in enumerate(users):
        own = data.attended.get(user, Counter())
        for rank, column in enumerate(order[row], 1):
            score = scores[row, column]
            if score == -np.inf:
                break
            event = events[column]
            reason = None
            if topic[row, column] >= TOPIC_REASON_MIN:
                reason = subjects.reason(user, column)
            if reason is None:
                signed_up = int(from_department[row, column])
                reason = _habit_reason(event, own, signed_up, departments.get(user, ""))
            rows.append((user, rank, event.event_id, float(score), reason))
    return rows


def _habit_reason(event: Event, own: Counter, signed_up: int, department: str) -> Reason:
    """The reason for an event without a shared subject, most specific first."""
    if own[event.category]:
        return Reason(
            "attended_category", {"category": event.category, "count": own[event.category]}
        )
    if signed_up:
        return Reason("department_signed_up", {"department": department, "count": signed_up})
    return Reason("seats_left", {"category": event.category})


def _category_term(
    data: EventData, events: list[Event], users: list[str], departments: dict[str, str]
) -> np.ndarray:
    """Users × events: the patron's attendance share of each event's category, smoothed with
    ``CATEGORY_PRIOR`` pseudo-attendances at the department's (or library's) mix."""
    library_mix = Counter()
    for counts in data.interest.values():
        library_mix.update(counts)
    categories = sorted({event.category for event in events})
    column_of = {category: column for column, category in enumerate(categories)}
    own = np.zeros((len(users), len(categories)))
    own_total = np.zeros((len(users), 1))
    prior_share = np.zeros((len(users), len(categories)))
    shares: dict[str, np.ndarray] = {}
    for row, user in enumerate(users):
        attended = data.attended.get(user, Counter())
        own_total[row] = sum(attended.values())
        for category, count in attended.items():
            if category in column_of:
                own[row, column_of[category]] = count
        department = departments.get(user, "")
        if department not in shares:
            prior = (data.interest.get(department) if department else None) or library_mix
            total = sum(prior.values()) or 1
            shares[department] = np.array([CATEGORY_PRIOR * prior[c] / total for c in categories])
        prior_share[row] = shares[department]
    term = CATEGORY_WEIGHT * (own + prior_share) / (own_total + CATEGORY_PRIOR)
    return term[:, [column_of[event.category] for event in events]]


def _department_term(
    data: EventData, events: list[Event], users: list[str], departments: dict[str, str]
) -> tuple[np.ndarray, np.ndarray]:
    """Users × events: the share of each event's sign-ups from the patron's department,
    smoothed with ``DEPARTMENT_PRIOR`` pseudo-sign-ups at the department's usual share; and
    the sign-ups from the patron's department themselves."""
    totals = Counter()
    for counts in data.registrants.values():
        totals.update(counts)
    all_registrations = sum(totals.values()) or 1
    names = sorted({departments.get(user, "") for user in users} - {""})
    drawn = np.zeros((len(names) + 1, len(events)))  # the last row: no department
    base = np.zeros((len(names) + 1, 1))
    for row, name in enumerate(names):
        base[row] = totals[name] / all_registrations
        for column, event in enumerate(events):
            drawn[row, column] = data.registrants.get(event.event_id, Counter())[name]
    signed_up = np.array(
        [sum(data.registrants.get(event.event_id, Counter()).values()) for event in events],
        dtype=float,
    )
    term = DEPARTMENT_WEIGHT * (drawn + DEPARTMENT_PRIOR * base) / (signed_up + DEPARTMENT_PRIOR)
    row_of = {name: row for row, name in enumerate(names)}
    rows = [row_of.get(departments.get(user, ""), len(names)) for user in users]
    return term[rows], drawn[rows]


class _Subjects:
    """Subject words shared by event titles and the titles a patron borrowed.

    Rare words name a subject ("algorithms"), common ones a pattern ("handbook", "book"): an
    event word counts when some loan titles use it but at most ``COMMON_WORD_SHARE`` of them,
    weighted by its inverse frequency among borrowed titles.
    """

    def __init__(self, events: list[Event], loan_titles: dict[str, list[str]]) -> None:
        self.loan_titles = loan_titles
        self.title_words: dict[str, set[str]] = {}
        frequency = Counter()
        for title, count in Counter(t for titles in loan_titles.values() for t in titles).items():
            for word in self._words(title):
                frequency[word] += count
        titles_total = sum(len(titles) for titles in loan_titles.values()) or 1
        self.weights = [
            {
                w: math.log(1 + titles_total / frequency[w])
                for w in words(event.title)
                if 0 < frequency[w] <= COMMON_WORD_SHARE * titles_total
            }
            for event in events
        ]
        self.vocabulary = sorted({w for weights in self.weights for w in weights})

    def _words(self, title: str) -> set[str]:
        found = self.title_words.get(title)
        if found is None:
            found = self.title_words[title] = words(title)
        return found

    def term(self, users: list[str]) -> np.ndarray:
        """Users × events: the weighted share of each event's subject words the patron read."""
        column_of = {w: column for column, w in enumerate(self.vocabulary)}
        read = np.zeros((len(users), len(self.vocabulary)))
        for row, user in enumerate(users):
            for title in set(self.loan_titles.get(user, ())):
                for word in self._words(title):
                    if word in column_of:
                        read[row, column_of[word]] = 1.0
        share = np.zeros((len(self.vocabulary), len(self.weights)))
        for column, weights in enumerate(self.weights):
            total = sum(weights.values()) or 1
            for word, weight in weights.items():
                share[column_of[word], column] = weight / total
        return TOPIC_WEIGHT * (read @ share)

    def reason(self, user: str, column: int) -> Reason | None:
        """A shared subject, naming the patron's first title with the event's weightiest
        shared word (and the word)."""
        weights = self.weights[column]
        read = {w for title in self.loan_titles.get(user, ()) for w in self._words(title)}
        shared = [w for w in weights if w in read]
        if not shared:
            return None
        # The weightiest word, ties to the first in alphabetical order: the same every run.
        best = min(shared, key=lambda w: (-weights[w], w))
        title = next(t for t in self.loan_titles[user] if best in self._words(t))
        return Reason("shares_subject", {"title": title, "word": best})
