"""Lifecycle timers count teaching days of the academic calendar: over a simulated year, a
vacation makes nobody at_risk, and readers who do not come back once the next term has run
at_risk_after_days teaching days are flagged."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from libcrm import report
from tests.year_support import autumn_flag_day, period

FLAGGED = ("at_risk", "lapsed")
LEAVERS = ("graduated", "left")
MAX_FLAGGED_SHARE = 0.10

# Every user's active days: loans, visits and attended events (what the timers measure).
ACTIVE_DAYS = """
    select user_key, checkout_date from marts.fct_loans
    union
    select user_key, visit_date from marts.fct_visits
    union
    select user_key, cast(starts_at as date) from marts.fct_event_attendance where attended
"""


def active_days(year) -> dict[str, list]:
    """Each user's active days up to the night last built."""
    days: dict[str, list] = {}
    for user, day in year.rows(ACTIVE_DAYS):
        days.setdefault(user, []).append(day)
    return days


def readers_active_in(year, term: dict) -> set[str]:
    """Users with a loan, visit or attended event during ``term``."""
    return {
        user
        for user, days in active_days(year).items()
        if any(term["first_day"] <= day <= term["last_day"] for day in days)
    }


@pytest.mark.parametrize(
    ("term_name", "vacation_name"),
    [
        ("2025-2026 autumn term", "2026 winter vacation"),
        ("2025-2026 spring term", "2026 summer vacation"),
    ],
)
def test_a_vacation_flags_almost_none_of_the_terms_readers(
    simulated_year, term_name, vacation_name
):
    """Readers of the term whom its last night did not flag (nor count as leavers) are, on
    the last day of the vacation after it, at most 10 % at_risk or lapsed."""
    term, vacation = period(term_name), period(vacation_name)
    at_term_end = simulated_year.night(term["last_day"])
    in_vacation = simulated_year.night(vacation["last_day"])
    readers = readers_active_in(simulated_year, term)
    unflagged = {user for user in readers if at_term_end[user] not in (*FLAGGED, *LEAVERS)}
    after = Counter(in_vacation[user] for user in unflagged if in_vacation[user] not in LEAVERS)
    overall = Counter(in_vacation[user] for user in readers if in_vacation[user] not in LEAVERS)
    print(f"{vacation_name}, {vacation['last_day']}: {dict(after)}; all readers {dict(overall)}")
    assert sum(after.values()) > 200
    flagged = sum(after[stage] for stage in FLAGGED)
    assert flagged <= MAX_FLAGGED_SHARE * sum(after.values()), after


def test_readers_who_do_not_come_back_are_flagged_once_the_next_term_has_run(simulated_year):
    """Readers whose last activity was in the spring term, unflagged when it ended, stay
    unflagged through the summer vacation and are all at_risk or lapsed (unless they left)
    at_risk_after_days teaching days into the autumn term."""
    spring, summer = period("2025-2026 spring term"), period("2026 summer vacation")
    at_term_end = simulated_year.night(spring["last_day"])
    in_vacation = simulated_year.night(summer["last_day"])
    day = autumn_flag_day()
    in_autumn = simulated_year.night(day)
    silent = [
        user
        for user, days in active_days(simulated_year).items()
        if spring["first_day"] <= max(days) <= spring["last_day"]
        and at_term_end[user] not in (*FLAGGED, *LEAVERS)
        and in_autumn[user] not in LEAVERS
    ]
    during, after = (
        Counter(stages[user] for user in silent) for stages in (in_vacation, in_autumn)
    )
    print(f"silent since the spring term: {summer['last_day']} {dict(during)}, {day} {dict(after)}")
    assert len(silent) > 10
    assert sum(during[stage] for stage in FLAGGED) <= MAX_FLAGGED_SHARE * len(silent), during
    assert sum(after[stage] for stage in FLAGGED) == len(silent), after


def test_on_1_april_the_first_quarters_final_board_is_kept_with_every_earlier_one(
    simulated_year, tmp_path
):
    """The boards of the night of 31 March, the last of Q1, are its final boards, and on 1
    April they are there unchanged beside Q2's one-day board; the report shows both."""
    board = (
        "select quarter, metric, rank, user_key, value, is_final"
        " from marts.leaderboard_quarterly order by quarter, metric, rank, user_key"
    )
    simulated_year.night(date(2026, 3, 31))
    on_31_march = simulated_year.rows(board)
    simulated_year.night(date(2026, 4, 1))
    on_1_april = simulated_year.rows(board)
    final = [row for row in on_1_april if row[5]]
    assert {row[0] for row in final} == {"2025-Q3", "2025-Q4", "2026-Q1"}
    assert [row for row in on_1_april if row[0] == "2026-Q1"] == [
        row for row in on_31_march if row[0] == "2026-Q1"
    ]
    assert 0 < len([row for row in final if row[0] == "2026-Q1"]) <= 10
    assert {row[0] for row in on_1_april if not row[5]} == {"2026-Q2"}
    page = report.build(date(2026, 4, 1), simulated_year.url, tmp_path / "report").read_text()
    assert "2026-Q1 (final)" in page and "2026-Q2 (so far)" in page
