"""Temporal holdout for event recommendations: rank the events still ahead at a cutoff with
only what was known before it, and count the registrations that came after.

The baseline is what a library could show without us: the events with the most sign-ups so
far. Seats left at the cutoff are not known afterwards, so every event still ahead competes.

``python -m recsys.activities_holdout YYYY-MM-DD`` prints both against the warehouse of
``LIBCRM_DATABASE_URL`` for the run day given.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from recsys.activities import ACTIVITY_N, Event, EventData, recommend_events
from recsys.evaluate import list_quality
from recsys.resources import HOLDOUT_DAYS


@dataclass(frozen=True)
class Registration:
    user_key: str
    event_id: str
    category: str
    registered_at: datetime | None
    starts_at: datetime
    attended: bool


@dataclass(frozen=True)
class EventMetrics:
    """Ranking quality of the top ``k`` events over users who registered after the cutoff."""

    users_evaluated: int
    hit_rate: float
    precision: float
    ndcg: float
    k: int = ACTIVITY_N


def split(
    events: list[tuple[Event, datetime]],
    registrations: list[Registration],
    departments: dict[str, str],
    cutoff: datetime,
) -> tuple[EventData, dict[str, set[str]]]:
    """What was known at ``cutoff`` (as the nightly ranking reads it) and, per user, the events
    still ahead then that the user registered for afterwards."""
    ahead = sorted(
        ((starts, event.event_id), event) for event, starts in events if starts >= cutoff
    )
    open_ids = {event.event_id for _, event in ahead}
    attended: dict[str, Counter] = {}
    registered: dict[str, set[str]] = {}
    registrants: dict[str, Counter] = {}
    interest: dict[str, Counter] = {}
    later: dict[str, set[str]] = {}
    for row in registrations:
        moment = row.registered_at or row.starts_at  # an undated sign-up: known once held
        if moment >= cutoff:
            if row.event_id in open_ids and row.registered_at is not None:
                later.setdefault(row.user_key, set()).add(row.event_id)
            continue
        department = departments.get(row.user_key, "")
        registered.setdefault(row.user_key, set()).add(row.event_id)
        registrants.setdefault(row.event_id, Counter())[department] += 1
        interest.setdefault(department, Counter())[row.category] += 1
        if row.attended and row.starts_at < cutoff:
            attended.setdefault(row.user_key, Counter())[row.category] += 1
    known = EventData([event for _, event in ahead], attended, registered, registrants, interest)
    return known, later


def most_registered(known: EventData, users: list[str], n: int = ACTIVITY_N) -> list[tuple]:
    """The baseline: the events with the most sign-ups so far, skipping a user's own."""
    drawn = {
        event.event_id: sum(known.registrants.get(event.event_id, {}).values())
        for event in known.upcoming
    }
    ranked = sorted(drawn, key=lambda event_id: (-drawn[event_id], event_id))
    rows = []
    for user in users:
        taken = known.registered.get(user, set())
        chosen = [event_id for event_id in ranked if event_id not in taken][:n]
        rows += [(user, rank, event_id) for rank, event_id in enumerate(chosen, 1)]
    return rows


def measure(rows: list[tuple], later: dict[str, set[str]], k: int = ACTIVITY_N) -> EventMetrics:
    """Hit rate, precision and nDCG at ``k`` of ``(user, rank, event_id, ...)`` rows."""
    lists: dict[str, list[str]] = {user: [] for user in later}
    for user, rank, event_id, *_ in sorted(rows, key=lambda row: (row[0], row[1])):
        if user in lists and rank <= k:
            lists[user].append(event_id)
    quality = list_quality(((lists[user], relevant) for user, relevant in later.items()), k)
    return EventMetrics(len(later), *quality, k)


def evaluate(
    events: list[tuple[Event, datetime]],
    registrations: list[Registration],
    departments: dict[str, str],
    loan_titles: dict[str, list[str]],
    cutoff: datetime,
) -> dict[str, EventMetrics]:
    """The nightly event ranking and the most-registered baseline on the same holdout.

    ``loan_titles`` must hold only titles borrowed before ``cutoff``.
    """
    known, later = split(events, registrations, departments, cutoff)
    users = sorted(later)
    return {
        "activities": measure(recommend_events(known, users, departments, loan_titles), later),
        "most_registered": measure(most_registered(known, users), later),
    }


def evaluate_warehouse(conn, data_date: date) -> dict[str, EventMetrics]:
    """``evaluate`` on the marts, with the cutoff of the books' nightly holdout."""
    from recsys.warehouse import loan_titles, read_catalogue

    cutoff = datetime.combine(data_date - timedelta(days=HOLDOUT_DAYS - 1), time())
    catalogue = read_catalogue(conn)
    events = [
        (Event(event_id, title, category), starts)
        for event_id, title, category, starts in conn.execute(
            "select event_id, title, category, starts_at from marts.dim_events"
        ).fetchall()
    ]
    registrations = [
        Registration(*row)
        for row in conn.execute(
            "select user_key, event_id, category, registered_at, starts_at, attended "
            "from marts.fct_event_attendance"
        ).fetchall()
    ]
    titles = loan_titles(catalogue, before=np.datetime64(cutoff))
    return evaluate(events, registrations, catalogue.departments, titles, cutoff)


def main(argv: list[str]) -> int:
    from libcrm import db

    data_date = date.fromisoformat(argv[0])
    with db.connect() as conn:
        results = evaluate_warehouse(conn, data_date)
    print(f"event holdout for {data_date}: events ahead on the cutoff, sign-ups after it")
    k = ACTIVITY_N
    print(f"{'model':<16}{'users':>7}{f'HR@{k}':>8}{f'P@{k}':>8}{f'nDCG@{k}':>9}")
    for name, metrics in results.items():
        print(
            f"{name:<16}{metrics.users_evaluated:>7}{metrics.hit_rate:>8.3f}"
            f"{metrics.precision:>8.3f}{metrics.ndcg:>9.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
