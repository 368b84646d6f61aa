"""The expectation suites: one per raw source and one per contract mart.

Each expectation carries ``meta.severity``: ``critical`` stops the run before anything is
published (the portal keeps the previous night's tables); ``warning`` is recorded and the run
goes on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import great_expectations.expectations as gxe

from libcrm.ingest.sources import ATTENDANCE, CATEGORIES, EVENT_CATEGORIES, ITEM_STATUSES

CRITICAL = {"severity": "critical"}
WARNING = {"severity": "warning"}
VALUE_SEGMENTS = ["long_term", "growth", "short_term", "inactive"]
LIFECYCLE_STAGES = ["new", "active", "at_risk", "lapsed", "returning"]


@dataclass(frozen=True)
class Suite:
    """A named suite and the query selecting the rows it validates."""

    name: str
    query: str
    expectations: list


def _batch_rows(table: str, data_date: date) -> str:
    """Select the rows of ``raw.<table>`` that the day's loads brought in."""
    return (
        f"select * from raw.{table} where batch_id in (select batch_id from raw.load_audit "  # noqa: S608
        f"where status = 'loaded' and data_date = '{data_date.isoformat()}')"
    )


def raw_suites(data_date: date) -> list[Suite]:
    """Suites over the rows loaded for ``data_date``."""
    interval_end = (data_date + timedelta(days=1)).isoformat() + " 00:00:00"
    return [
        Suite(
            "raw_patrons",
            _batch_rows("patrons", data_date),
            [
                gxe.ExpectColumnValuesToNotBeNull(column="user_key", meta=CRITICAL),
                gxe.ExpectColumnValuesToBeInSet(
                    column="category", value_set=list(CATEGORIES), meta=CRITICAL
                ),
            ],
        ),
        Suite(
            "raw_items",
            _batch_rows("items", data_date),
            [
                gxe.ExpectColumnValuesToNotBeNull(column="item_id", meta=CRITICAL),
                gxe.ExpectColumnValuesToBeInSet(
                    column="status", value_set=list(ITEM_STATUSES), meta=CRITICAL
                ),
            ],
        ),
        Suite(
            "raw_loans",
            _batch_rows("loans", data_date),
            [
                gxe.ExpectColumnValuesToNotBeNull(column="loan_id", meta=CRITICAL),
                gxe.ExpectColumnValuesToBeBetween(
                    column="checkout_at", max_value=interval_end, strict_max=True, meta=CRITICAL
                ),
            ],
        ),
        Suite(
            "raw_gate_passages",
            _batch_rows("gate_passages", data_date),
            [
                gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=WARNING),
                gxe.ExpectColumnValuesToBeInSet(
                    column="direction", value_set=["in", "out"], meta=CRITICAL
                ),
                gxe.ExpectColumnValuesToBeBetween(
                    column="passed_at", max_value=interval_end, strict_max=True, meta=CRITICAL
                ),
            ],
        ),
        Suite(
            "raw_events",
            _batch_rows("events", data_date),
            [
                gxe.ExpectColumnValuesToNotBeNull(column="event_id", meta=CRITICAL),
                gxe.ExpectColumnValuesToBeInSet(
                    column="category", value_set=list(EVENT_CATEGORIES), meta=CRITICAL
                ),
            ],
        ),
        Suite(
            "raw_event_registrations",
            _batch_rows("event_registrations", data_date),
            [
                gxe.ExpectColumnValuesToBeInSet(
                    column="attendance", value_set=list(ATTENDANCE), meta=CRITICAL
                ),
                gxe.ExpectColumnValuesToBeBetween(
                    column="rating", min_value=1, max_value=5, meta=WARNING
                ),
            ],
        ),
    ]


def mart_suites() -> list[Suite]:
    """Suites over the contract marts as dbt left them."""
    return [
        Suite(
            "marts_user_profiles",
            "select * from marts.user_profiles",
            [
                gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=CRITICAL),
                gxe.ExpectColumnValuesToBeUnique(column="user_key", meta=CRITICAL),
                gxe.ExpectColumnValuesToNotBeNull(column="user_key", meta=CRITICAL),
                gxe.ExpectColumnValuesToBeInSet(
                    column="value_segment", value_set=VALUE_SEGMENTS, meta=CRITICAL
                ),
                gxe.ExpectColumnValuesToBeInSet(
                    column="lifecycle_stage", value_set=LIFECYCLE_STAGES, meta=CRITICAL
                ),
            ],
        ),
        Suite(
            "marts_fct_loans",
            "select * from marts.fct_loans",
            [
                gxe.ExpectColumnValuesToBeUnique(column="loan_id", meta=CRITICAL),
                gxe.ExpectColumnValuesToNotBeNull(column="user_key", meta=CRITICAL),
            ],
        ),
        Suite(
            "marts_fct_visits",
            "select * from marts.fct_visits",
            [
                gxe.ExpectColumnValuesToBeBetween(
                    column="dwell_minutes", min_value=0, max_value=24 * 60, meta=WARNING
                ),
            ],
        ),
    ]
