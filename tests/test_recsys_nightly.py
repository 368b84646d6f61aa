"""The nightly run on small hand-built marts: filters, opt-out, events, history and the gate."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import psycopg
import pytest

from recsys import nightly
from recsys.candidates import BY_NAME
from recsys.selection import Rules
from tests import marts_support

DAY = date(2026, 3, 18)
# The production blend against the most-borrowed list, on a library of 60 readers: the
# selection's limits scaled down to it (tests/test_recsys_selection.py covers the selection).
CANDIDATES = (BY_NAME["popularity"], BY_NAME["als-blend"])
SMALL_LIBRARY = Rules(min_readers=20, min_loans=40)
DEPARTMENTS = ("Physics", "History")
LEAVERS = {"u58": "graduated", "u59": "left"}
MARTS = """
create schema if not exists marts;
create table marts.dim_users (user_key text, department text, opt_out boolean);
create table marts.user_profiles (user_key text, lifecycle_stage text);
create table marts.dim_items (
    item_id text, title text, author text, clc_class text, is_recommendable boolean, work_id text,
    call_number text
);
create table marts.fct_loans (user_key text, item_id text, checkout_at timestamp, is_book boolean);
create table marts.dim_events (
    event_id text, title text, category text, starts_at timestamp, is_upcoming boolean,
    registration_open boolean, seats_left bigint, ends_at timestamp, location text
);
create table marts.fct_event_attendance (
    user_key text, event_id text, category text, attended boolean
);
"""


def _library():
    """60 readers in two departments, each reading its own 30 books; u00 opted out, u58
    graduated and u59 left (their cards expired)."""
    rng = np.random.default_rng(11)
    users = [(f"u{n:02d}", DEPARTMENTS[n % 2], n == 0) for n in range(60)]
    items = [
        (f"I{n:03d}", f"Book {n}", "A", "O" if n < 30 else "K", True, f"I{n:03d}")
        for n in range(60)
    ]
    items[5] = ("I005", "Book 5", "A", "O", False, "I005")  # lost: popular, never recommended
    items += [
        ("I100", "Book 7", "A", "O", True, "I007"),
        ("R001", "Study room SR-001", "", "", False, "R001"),
    ]
    loans = []
    for n, (user, _, _) in enumerate(users):
        books = 1 if n == 2 else 8  # u02 has a thin history: department fallback
        base = 0 if n % 2 == 0 else 30
        picks = [5] + list(rng.choice([i for i in range(30) if i != 5], books - 1, replace=False))
        for k, item in enumerate(picks):
            moment = datetime(2026, 1, 10) + timedelta(days=int(rng.integers(0, 66)), hours=k)
            loans.append((user, f"I{base + item:03d}", moment, True))
        loans.append((user, "R001", datetime(2026, 3, 1, 10), False))
    upcoming = datetime(2026, 4, 2, 19)
    events = [
        ("E01", "Reading club: Book 1", "reading_club", datetime(2026, 2, 1), False, True, 0),
        ("E02", "Reading club: Book 2", "reading_club", datetime(2026, 2, 8), False, True, 3),
        ("E03", "Reading club: Book 3", "reading_club", datetime(2026, 2, 15), False, True, 3),
        ("E10", "Reading club: Book 4", "reading_club", upcoming, True, True, 10),
        ("E11", "Lecture: full house", "lecture", upcoming, True, True, 0),
        ("E12", "Lecture: closed", "lecture", upcoming, True, False, 50),
        ("E14", "Lecture: Physics of books", "lecture", upcoming, True, True, 50),
    ]
    attendance = [(f"u{n:02d}", f"E0{k}", "reading_club", True) for n in (4, 6) for k in (1, 2, 3)]
    attendance.append(("u01", "E14", "lecture", None))  # registered: not offered again
    stages = [(user, LEAVERS.get(user, "active")) for user, _, _ in users]
    return users, items, loans, events, attendance, stages


@pytest.fixture(scope="module")
def run(warehouse_url):
    users, items, loans, events, attendance, stages = _library()
    with psycopg.connect(warehouse_url) as conn:
        marts_support.fill(
            conn,
            MARTS,
            {
                "dim_users": users,
                "dim_items": items,
                "fct_loans": loans,
                "dim_events": events,
                "fct_event_attendance": attendance,
                "user_profiles": stages,
            },
            users,
        )
    result = nightly.run(DAY, "run-1", warehouse_url, SMALL_LIBRARY, CANDIDATES)
    with psycopg.connect(warehouse_url) as conn:
        books = conn.execute("select * from portal.resource_recommendations").fetchall()
        events = conn.execute("select * from portal.activity_recommendations").fetchall()
        history = conn.execute("select * from recsys.recommendation_log").fetchall()
        gate = conn.execute(
            "select model, published from quality.recommender_evaluations where run_id = 'run-1'"
        ).fetchall()
    return result, books, events, history, gate, loans


def test_opted_out_patrons_get_nothing_personal(run):
    result, books, events, history, _, _ = run
    assert "Pu00" not in {row[0] for row in books + events}
    assert "u00" not in {row[1] for row in history}
    assert result.users_with_recommendations == result.users_with_activities == 57


def test_graduated_and_left_patrons_get_no_recommendations(run):
    _, books, events, history, _, _ = run
    assert not {f"P{user}" for user in LEAVERS} & {row[0] for row in books + events}
    assert not set(LEAVERS) & {row[1] for row in history}


def test_books_are_never_borrowed_lost_copies_or_rooms(run):
    _, books, _, _, _, loans = run
    borrowed = {(f"P{user}", item) for user, item, _, _ in loans}
    assert not {(row[0], row[2]) for row in books} & borrowed
    shown = {row[2] for row in books}
    assert not shown & {"I005", "R001"}
    # I100 is another copy of Book 7: never offered to whoever read I007.
    readers_of_7 = {patron for patron, item in borrowed if item == "I007"}
    assert not {row[0] for row in books if row[2] == "I100"} & readers_of_7


def test_readers_get_their_departments_books_with_reasons(run):
    result, books, _, _, _, _ = run
    assert result.published_model == "als-blend"
    assert result.model_version == "als-blend-20260318"
    physics = [row for row in books if row[0] == "Pu10" and row[1] <= 5]
    assert all(int(row[2][1:]) < 30 for row in physics)  # Physics reads I000-I029
    assert all(row[4].startswith("because you borrowed 《Book ") for row in physics)
    assert all(row[7] == "borrowed_similar" for row in physics)
    assert all(row[8]["title"].startswith("Book ") for row in physics)
    thin = [row for row in books if row[0] == "Pu02"]
    assert {row[4] for row in thin} == {"popular in your department (Physics) lately"}
    assert {(row[7], row[8]["department"]) for row in thin} == {
        ("popular_in_department", "Physics")
    }
    assert {row[5] for row in books} == {DAY}
    assert {row[6] for row in books} == {"als-blend-20260318"}


def test_only_open_upcoming_events_with_seats_and_not_registered(run):
    _, _, events, _, _, _ = run
    assert {row[2] for row in events} == {"E10", "E14"}
    assert "E14" not in {row[2] for row in events if row[0] == "Pu01"}
    clubbers = {row[0]: row[4] for row in events if row[2] == "E10" and row[0] in {"Pu04", "Pu06"}}
    assert clubbers == {
        "Pu04": "you attended 3 events of this kind (Reading club)",
        "Pu06": "you attended 3 events of this kind (Reading club)",
    }
    ranks = {(row[0], row[1]) for row in events if row[0] in {"Pu04", "Pu06"}}
    assert {("Pu04", 1), ("Pu06", 1)} <= ranks
    assert [row[2] for row in events if row[0] == "Pu04" and row[1] == 1] == ["E10"]


def test_history_matches_the_portal_and_the_gate_is_recorded(run):
    result, books, events, history, gate, _ = run
    assert len(history) == len(books) + len(events)
    assert {row[0] for row in history} == {"resource", "activity"}
    assert sorted(gate) == [("als-blend", True), ("popularity", False)]
    assert result.gate.startswith("als-blend published: nDCG@10")
