"""The suites of each stage: one per raw entity (and the load audit), one per contract mart
with checks dbt does not make.

Each expectation carries ``severity``: ``critical`` stops the run before anything is published
(the portal keeps the previous night's tables); ``warning`` is recorded and the run goes on.
See ``expectations.base`` for which checks are which, and ``expectations.raw`` for how the
initial export is treated.
"""

from __future__ import annotations

from datetime import date

from expectations import audit, marts, raw, raw_gate_events
from expectations.base import CRITICAL, WARNING, Suite
from expectations.history import batch_facts
from libcrm import config

__all__ = ["CRITICAL", "WARNING", "Suite", "mart_suites", "raw_suites"]

RAW_SUITES = {
    "patrons": raw.raw_patrons,
    "items": raw.raw_items,
    "loans": raw.raw_loans,
    "holds": raw.raw_holds,
    "purchase_requests": raw.raw_purchase_requests,
    "gate_passages": raw_gate_events.raw_gate_passages,
    "events": raw_gate_events.raw_events,
    "event_registrations": raw_gate_events.raw_event_registrations,
}


def raw_suites(data_date: date, url: str | None = None) -> list[Suite]:
    """Suites over the rows loaded for ``data_date``, with volume bands learned from the audit.

    Parameters
    ----------
    data_date : datetime.date
        The run's day.
    url : str, optional
        Warehouse URL (default ``LIBCRM_DATABASE_URL``), read for the load history.
    """
    facts = batch_facts(url or config.database_url(), data_date, list(RAW_SUITES))
    suites = [build(data_date, facts[entity]) for entity, build in RAW_SUITES.items()]
    return suites + [
        raw_gate_events.raw_gate_cards(facts["gate_passages"]),
        audit.raw_load_audit(data_date),
    ]


def mart_suites() -> list[Suite]:
    """Suites over the contract marts as dbt left them, and the personal-data column scan."""
    return [
        marts.marts_user_profiles(),
        marts.marts_opinion_leaders(),
        marts.marts_leaderboard_quarterly(),
        marts.marts_fct_visits(),
        marts.marts_pii_columns(),
    ]
