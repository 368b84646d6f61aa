"""Event ranking on tiny hand-made histories: cold start, subjects, departments, reasons."""

from __future__ import annotations

from collections import Counter

from recsys.activities import Event, EventData, recommend_events
from recsys.reasons import Reason

CLUB = Event("E1", "Reading club: Wolf Totem", "reading_club")
TALK = Event("E2", "Lecture: New directions in Quantum Optics", "lecture")
WORKSHOP = Event("E3", "Workshop: Citation managers", "workshop")
DEPARTMENTS = {"reader": "Literature", "newcomer": "Literature", "physicist": "Physics"}


def _data(registrants=None, interest=None):
    return EventData(
        upcoming=[CLUB, TALK, WORKSHOP],
        attended={"reader": Counter(reading_club=3), "veteran": Counter(reading_club=5)},
        registered={"reader": set(), "veteran": {"E1"}},
        registrants=registrants or {},
        interest=interest or {"Literature": Counter(reading_club=8)},
    )


def test_past_attendance_ranks_the_new_club_first_and_says_so():
    rows = recommend_events(_data(), ["reader"], DEPARTMENTS, {})
    assert rows[0][:3] == ("reader", 1, "E1")
    assert rows[0][4] == Reason("attended_category", {"category": "reading_club", "count": 3})
    assert rows[0][4].english == "you attended 3 events of this kind (Reading club)"
    assert [row[1] for row in rows] == [1, 2, 3]


def test_a_newcomer_inherits_the_departments_taste_for_a_brand_new_event():
    departments = DEPARTMENTS | {"veteran": "Literature"}
    rows = recommend_events(_data(), ["newcomer"], departments, {})
    assert rows[0][2] == "E1"  # the department's readers go to reading clubs
    assert rows[0][4] == Reason("seats_left", {"category": "reading_club"})


def test_subject_overlap_with_loans_is_ranked_and_explained():
    titles = {
        "physicist": ["Quantum Optics for Beginners", "Handbook of Mechanics"],
        "reader": [f"Handbook of Novel {k}" for k in range(40)],
    }
    rows = recommend_events(_data(), ["physicist"], DEPARTMENTS, titles)
    assert rows[0][2] == "E2"
    assert rows[0][4] == Reason(
        "shares_subject", {"title": "Quantum Optics for Beginners", "word": "optics"}
    )
    assert rows[0][4].english == "on a subject you read: 《Quantum Optics for Beginners》"


def test_department_sign_ups_explain_an_event_and_registered_events_are_skipped():
    interest = {"Literature": Counter(reading_club=8), "Physics": Counter(workshop=4)}
    data = _data({"E3": Counter(Physics=4)}, interest)
    rows = recommend_events(data, ["physicist", "veteran"], DEPARTMENTS, {}, n=3)
    physicist = [row for row in rows if row[0] == "physicist"]
    assert physicist[0][2] == "E3"
    assert physicist[0][4].english == "4 readers from your department (Physics) signed up"
    assert "E1" not in {row[2] for row in rows if row[0] == "veteran"}


def test_no_open_event_means_no_rows():
    empty = EventData([], {}, {}, {})
    assert recommend_events(empty, ["reader"], DEPARTMENTS, {}) == []


def test_equal_scores_go_to_the_smaller_event_id_and_registered_events_shorten_the_list():
    twins = [
        Event("E9", "Workshop: Poster design", "workshop"),
        Event("E5", "Workshop: Slide design", "workshop"),
        CLUB,
    ]
    data = EventData(twins, {}, {"reader": {"E1"}}, {}, {"Literature": Counter(workshop=2)})
    rows = recommend_events(data, ["reader"], DEPARTMENTS, {}, n=5)
    assert [row[2] for row in rows] == ["E5", "E9"]
    assert rows[0][3] == rows[1][3]


def test_a_chinese_event_title_matches_a_chinese_loan_title_sharing_a_word():
    """Chinese is written without spaces: 机器学习 in an event title and in a loan title is a
    shared subject only once both are segmented into words. Without a shared word the tie
    goes to the smaller event id (the club), so only the match puts the lecture first."""
    club = Event("E8", "读书会：《红楼梦》", "reading_club")
    lecture = Event("E9", "讲座：机器学习与数据挖掘", "lecture")
    data = EventData([club, lecture], {}, {}, {}, {})
    titles = {
        "coder": ["机器学习实战", "西游记"],
        "poet": [f"唐诗选读 第{k}册" for k in range(40)],
    }
    departments = {"coder": "Computing", "poet": "Literature"}
    rows = recommend_events(data, ["coder", "poet"], departments, titles, n=2)
    first = {row[0]: row[2] for row in rows if row[1] == 1}
    assert first == {"coder": "E9", "poet": "E8"}
