"""The overview's term and last year's same term, built by dbt from the academic calendar seed
for run days inside, between, before and after the calendar's terms."""

from __future__ import annotations

import json
from datetime import date

import psycopg
import pytest

from libcrm import transform
from tests.test_dbt_marts import separate_dbt_folders

MODEL = "int_overview_periods_dated"


@pytest.fixture(scope="module")
def periods_of(warehouse_url, tmp_path_factory):
    """Build the periods for a run day; return {period: (first_day, last_day, term_starts_on)}."""
    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")):
        transform.run_dbt(["seed", "--select", "academic_calendar"], warehouse_url)

        def build(day: date) -> dict[str, tuple[date, date, date]]:
            variables = json.dumps({"as_of": day.isoformat()})
            transform.run_dbt(["build", "--select", MODEL, "--vars", variables], warehouse_url)
            with psycopg.connect(warehouse_url) as conn:
                found = conn.execute(
                    f"select period, first_day, last_day, term_starts_on from intermediate.{MODEL}"  # noqa: S608
                ).fetchall()
            return {period: tuple(days) for period, *days in found}

        yield build


def test_a_term_day_compares_with_the_same_days_of_last_years_same_term(periods_of):
    assert periods_of(date(2026, 3, 17)) == {
        "this_term": (date(2026, 2, 23), date(2026, 3, 17), date(2026, 2, 23)),
        "same_weeks_last_year": (date(2025, 2, 17), date(2025, 3, 11), date(2026, 2, 23)),
    }


def test_a_vacation_day_belongs_to_the_term_just_ended(periods_of):
    assert periods_of(date(2026, 8, 1))["this_term"][0] == date(2026, 2, 23)


def test_a_day_the_calendar_does_not_reach_falls_back_to_the_last_sixteen_weeks(periods_of):
    expected = {
        "this_term": (date(2023, 2, 7), date(2023, 5, 30), date(2023, 2, 7)),
        "same_weeks_last_year": (date(2022, 2, 8), date(2022, 5, 31), date(2023, 2, 7)),
    }
    assert periods_of(date(2023, 5, 30)) == expected  # before the calendar's first term
    # After its end (2030-09-01): not a "term" of half a year or more since its last term.
    assert periods_of(date(2031, 3, 1)) == {
        "this_term": (date(2030, 11, 9), date(2031, 3, 1), date(2030, 11, 9)),
        "same_weeks_last_year": (date(2029, 11, 10), date(2030, 3, 2), date(2030, 11, 9)),
    }
