"""Cohorts and leavers over a simulated year: the simulator graduates its final-year cohorts
on 1 July, and in the autumn they are graduated (faculty and staff whose card expired: left),
never at_risk or lapsed, and get no recommendations; the new cohort are freshmen."""

from __future__ import annotations

from collections import Counter

import pytest

from recsys import nightly
from tests.year_support import autumn_flag_day, project_vars

STUDENTS = ("undergraduate", "graduate")


@pytest.fixture(scope="module")
def autumn(simulated_year):
    """The night at_risk_after_days teaching days into the 2026 autumn term, with the
    recommendations published for it."""
    day = autumn_flag_day()
    simulated_year.night(day)
    nightly.run(day, "leavers", simulated_year.url)
    users = simulated_year.rows(
        """
        select users.user_key, users.category, users.enrolled_year, users.expires_on,
            profiles.lifecycle_stage, keys.patron_id
        from marts.dim_users as users
        inner join marts.user_profiles as profiles on users.user_key = profiles.user_key
        inner join identity.patron_keys as keys on users.user_key = keys.user_key
        """
    )
    return day, simulated_year, users


def test_the_simulator_graduates_a_cohort_and_its_activity_stops(autumn):
    day, year, users = autumn
    graduates = {
        user for user, category, _, expires, *_ in users if category in STUDENTS and expires < day
    }
    assert len(graduates) > 30
    after = year.rows(
        """
        with acts as (
            select user_key, checkout_at as at from marts.fct_loans
            union all
            select user_key, starts_at from marts.fct_event_attendance where attended
            union all
            select user_key, filled_at from marts.fct_holds where filled_at is not null
            union all
            select user_key, requested_at from marts.fct_purchase_requests
        )
        select count(*) from acts
        inner join marts.dim_users as users on acts.user_key = users.user_key
        where users.expires_on < %s and acts.at >= users.expires_on + 1
        """,
        (day,),
    )[0][0]
    assert after == 0


def test_leavers_are_graduated_or_left_never_at_risk_or_lapsed(autumn):
    day, _, users = autumn
    years = {
        "undergraduate": project_vars()["undergraduate_study_years"],
        "graduate": project_vars()["graduate_study_years"],
    }
    left = Counter(
        (category in STUDENTS, stage)
        for _, category, enrolled, expires, stage, _ in users
        if expires < day or (category in STUDENTS and enrolled + years[category] <= 2026)
    )
    assert left[(True, "graduated")] > 30
    assert set(left) <= {(True, "graduated"), (False, "left")}, left
    stayed = {stage for _, _, _, expires, stage, _ in users if expires >= day}
    assert not stayed & {"graduated", "left"}


def test_the_new_cohort_are_freshmen_in_their_first_term(autumn):
    _, _, users = autumn
    cohort = Counter(
        (category in STUDENTS and enrolled == 2026, stage == "freshman")
        for _, category, enrolled, _, stage, _ in users
    )
    assert cohort[(True, True)] > 5
    assert cohort[(True, False)] == cohort[(False, True)] == 0, cohort


def test_leavers_get_no_recommendations(autumn):
    _, year, users = autumn
    leavers = {patron for *_, stage, patron in users if stage in ("graduated", "left")}
    served = {
        row[0]
        for row in year.rows(
            "select patron_id from portal.resource_recommendations"
            " union select patron_id from portal.activity_recommendations"
        )
    }
    assert len(leavers) > 30 and len(served) > 100
    assert not leavers & served
