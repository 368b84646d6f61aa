"""The event holdout sees only what was known at the cutoff and scores what came after."""

from __future__ import annotations

from datetime import datetime

import pytest

from recsys.activities import Event
from recsys.activities_holdout import Registration, evaluate, measure, most_registered, split

CUTOFF = datetime(2026, 3, 5)
PAST_CLUB = Event("E0", "Reading club: Red Sorghum", "reading_club")
CLUB = Event("E1", "Reading club: Wolf Totem", "reading_club")
TALK = Event("E2", "Lecture: Quantum Optics", "lecture")
EVENTS = [
    (PAST_CLUB, datetime(2026, 3, 1, 18)),
    (CLUB, datetime(2026, 3, 10, 18)),
    (TALK, datetime(2026, 3, 12, 18)),
]
DEPARTMENTS = {"reader": "Literature", "fan": "Physics", "late": "Physics", "a": "Physics"}


def _sign_up(user, event, registered, attended=False):
    starts = dict((e.event_id, s) for e, s in EVENTS)[event.event_id]
    return Registration(user, event.event_id, event.category, registered, starts, attended)


REGISTRATIONS = [
    _sign_up("reader", PAST_CLUB, datetime(2026, 2, 20), attended=True),
    _sign_up("fan", TALK, datetime(2026, 3, 1)),
    _sign_up("a", TALK, datetime(2026, 3, 2)),
    _sign_up("reader", CLUB, datetime(2026, 3, 6)),  # after the cutoff: to be predicted
    _sign_up("late", TALK, datetime(2026, 3, 7)),
    _sign_up("late", PAST_CLUB, None),  # undated, for an event held before the cutoff
]


def test_only_what_was_known_at_the_cutoff_is_used():
    known, later = split(EVENTS, REGISTRATIONS, DEPARTMENTS, CUTOFF)
    assert [event.event_id for event in known.upcoming] == ["E1", "E2"]  # E0 was over
    assert later == {"reader": {"E1"}, "late": {"E2"}}
    assert known.registered == {"reader": {"E0"}, "fan": {"E2"}, "a": {"E2"}, "late": {"E0"}}
    assert known.attended == {"reader": {"reading_club": 1}}
    assert sum(known.registrants["E2"].values()) == 2
    assert "E1" not in known.registrants


def test_the_baseline_ranks_by_sign_ups_so_far_and_skips_a_users_own():
    known, _ = split(EVENTS, REGISTRATIONS, DEPARTMENTS, CUTOFF)
    rows = most_registered(known, ["reader", "fan"])
    assert rows == [("reader", 1, "E2"), ("reader", 2, "E1"), ("fan", 1, "E1")]


def test_metrics_count_hits_at_their_rank():
    rows = [("u", 1, "E9"), ("u", 2, "E1"), ("v", 1, "E2")]
    metrics = measure(rows, {"u": {"E1"}, "v": {"E3"}}, k=5)
    assert metrics.users_evaluated == 2
    assert metrics.hit_rate == pytest.approx(0.5)
    assert metrics.precision == pytest.approx(0.1)
    assert metrics.ndcg == pytest.approx((1 / 1.584962500721156) / 2)


def test_a_club_goer_gets_the_next_club_first_where_the_baseline_offers_the_lecture():
    results = evaluate(EVENTS, REGISTRATIONS, DEPARTMENTS, {}, CUTOFF)
    # "reader" attended a club and signs up for the next one; "late" (Physics) for the
    # lecture the department signs up for. The baseline puts the lecture first for both.
    assert results["activities"].users_evaluated == 2
    assert results["activities"].ndcg == pytest.approx(1.0)
    assert results["most_registered"].hit_rate == pytest.approx(1.0)
    assert results["most_registered"].ndcg == pytest.approx((1 / 1.584962500721156 + 1) / 2)
