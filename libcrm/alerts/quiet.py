"""Which late or stopped source tables the academic calendar excuses from the stale-source alert.

A table is quiet during some kinds of calendar period (``quiet_during`` in its ``config.meta``,
``dbt_project/models/staging/_sources.yml``): every checked table while the library is closed,
event registrations in vacations and holidays too. Nothing new in such days is no fault of the
export, so they do not count: a stale table whose time without a record, less those days, stays
within its allowed lag (``warn_after``) is excused (recorded with the reason, not alerted); one
still stale beyond that, or with no record at all, is alerted as usual.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path

from libcrm import config

log = logging.getLogger(__name__)

# The seed the lifecycle timers count teaching days in, read where the library edits it.
CALENDAR = Path("seeds") / "academic_calendar.csv"
STALE = frozenset({"warn", "error"})  # dbt's late and stopped


@dataclass(frozen=True)
class Period:
    """One period of the academic calendar, ``first_day`` to ``last_day`` inclusive."""

    kind: str
    name: str
    first_day: date
    last_day: date

    @property
    def starts(self) -> datetime:
        return datetime.combine(self.first_day, time())

    @property
    def ends(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time())

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, {self.first_day} to {self.last_day})"


def academic_calendar(path: Path | None = None) -> list[Period]:
    """The periods of ``dbt_project/seeds/academic_calendar.csv`` (or of ``path``)."""
    path = path or config.dbt_project_dir() / CALENDAR
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Period(
                kind=row["kind"],
                name=row["period"],
                first_day=date.fromisoformat(row["first_day"]),
                last_day=date.fromisoformat(row["last_day"]),
            )
            for row in csv.DictReader(handle)
        ]


def _hours_inside(periods: list[Period], start: datetime, end: datetime) -> float:
    """Hours of ``[start, end)`` that fall in any of ``periods`` (overlaps counted once)."""
    spans = sorted((max(p.starts, start), min(p.ends, end)) for p in periods)
    covered, reached = 0.0, start
    for first, last in spans:
        first = max(first, reached)
        if last > first:
            covered += (last - first).total_seconds() / 3600
            reached = last
    return covered


def excuse(row: dict, day: date, calendar: list[Period]) -> str | None:
    """Why the freshness ``row`` of a table on ``day`` is excused from the alert, else None.

    ``row`` is one of :func:`libcrm.transform.source_freshness`: ``status``,
    ``newest_record``, ``allowed_lag_hours`` and ``quiet_during`` are read.
    """
    newest, allowed = row.get("newest_record"), row.get("allowed_lag_hours")
    if row["status"] not in STALE or newest is None or allowed is None:
        return None
    end = datetime.combine(day + timedelta(days=1), time())  # freshness is measured here
    quiet = [
        period
        for period in calendar
        if period.kind in row.get("quiet_during", ())
        and period.starts < end
        and period.ends > newest
    ]
    if not quiet:
        return None
    silent = (end - newest).total_seconds() / 3600
    outside = silent - _hours_inside(quiet, newest, end)
    if outside > allowed:
        return None
    return (
        f"quiet during {', '.join(str(period) for period in quiet)}: "
        f"{outside / 24:.1f} of its {silent / 24:.1f} days without a record fall outside, "
        f"within the {allowed / 24:g} days allowed"
    )


def excuse_quiet_tables(
    rows: list[dict], day: date, calendar: list[Period] | None = None
) -> list[dict]:
    """Set ``excused_because`` in each freshness row of ``day`` (None: not excused); return
    the rows. ``calendar`` defaults to the project's academic calendar."""
    calendar = academic_calendar() if calendar is None else calendar
    for row in rows:
        row["excused_because"] = excuse(row, day, calendar)
        if row["excused_because"]:
            log.info(
                "%s.%s is %s for %s but not alerted: %s",
                row["source_name"],
                row["table_name"],
                row["status"],
                day,
                row["excused_because"],
            )
    return rows
