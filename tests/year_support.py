"""A small library simulated over an academic year and a summer (September 2025 to the autumn
term of 2026), its loans and events loaded once, and the academic calendar's days the
calendar and leaver tests build their nights on."""

from __future__ import annotations

import csv
import json
from datetime import date, timedelta
from pathlib import Path

import psycopg
import yaml

from libcrm import config, ingest, transform
from libcrm.tooling.simulate import simulate
from tests.test_dbt_marts import separate_dbt_folders

HISTORY_START = date(2025, 9, 1)
# Circulation and events, no gate log: the simulator keeps readers coming in to study during
# vacations, which hides the silence a loan log shows (the case of a library without
# turnstiles, and of the real loan log where 55 % of the spring's borrowers were flagged in
# the summer when the timers ran in calendar days).
SOURCES = ("ils", "events")


def project_vars() -> dict:
    """The dbt vars of dbt_project.yml (the thresholds the tests pick their days with)."""
    return yaml.safe_load((config.dbt_project_dir() / "dbt_project.yml").read_text())["vars"]


def calendar_periods() -> list[dict]:
    """The rows of the academic calendar seed, dates parsed."""
    path = config.dbt_project_dir() / "seeds" / "academic_calendar.csv"
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            {
                **row,
                "first_day": date.fromisoformat(row["first_day"]),
                "last_day": date.fromisoformat(row["last_day"]),
            }
            for row in csv.DictReader(handle)
        ]


def period(name: str) -> dict:
    """The calendar period called ``name``."""
    return next(row for row in calendar_periods() if row["period"] == name)


def nth_teaching_day(term_name: str, count: int) -> date:
    """The day on which ``count`` teaching days of the term have passed since it started."""
    periods = calendar_periods()
    term = period(term_name)
    holidays = [row for row in periods if row["kind"] == "holiday"]
    day, passed = term["first_day"], 0
    while True:
        day += timedelta(days=1)
        if not any(h["first_day"] <= day <= h["last_day"] for h in holidays):
            passed += 1
        if passed >= count:
            return day


class SimulatedYear:
    """The warehouse holding the simulated year; ``night(day)`` builds the marts for a day."""

    def __init__(self, url: str, folder: Path, last_day: date, seed: int = 42) -> None:
        self.url, self.folder, self.last_day = url, folder, last_day
        landing, truth = folder / "landing", folder / "truth.json"
        simulate(
            landing,
            truth,
            scale="small",
            first_day=last_day,
            days=1,
            seed=seed,
            history_start=HISTORY_START,
        )
        for source in SOURCES:
            ingest.ingest_source(source, last_day, url, landing)
        self.truth = json.loads(truth.read_text())["patrons"]
        self.built: date | None = None
        self.stages: dict[date, dict[str, str]] = {}

    def night(self, day: date) -> dict[str, str]:
        """Build every model for ``day`` from scratch (nights are built in date order, the
        marts then hold that night); return every user's lifecycle stage that night."""
        if self.built != day:
            variables = json.dumps({"as_of": day.isoformat()})
            with separate_dbt_folders(self.folder / "dbt"):
                transform.run_dbt(["build", "--full-refresh", "--vars", variables], self.url)
            self.built = day
            self.stages[day] = dict(
                self.rows("select user_key, lifecycle_stage from marts.user_profiles")
            )
        return self.stages[day]

    def rows(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.url) as conn:
            return conn.execute(query, params).fetchall()


def autumn_flag_day() -> date:
    """The day at_risk_after_days teaching days into the 2026 autumn term: by then a reader
    silent since the spring term has been silent that long, whatever day they left."""
    return nth_teaching_day("2026-2027 autumn term", project_vars()["at_risk_after_days"])
