"""Retention limits, applied nightly after the marts are built.

- A loan returned, a hold closed, or a purchase request decided more than
  ``LIBCRM_LOAN_LINK_DAYS`` days before the run day loses its patron link in ``raw`` (patron_id
  and user_key set to null), as Alma and Koha anonymise circulation history; the marts built
  before keep their aggregates.
- Gate passages older than ``LIBCRM_GATE_PASSAGE_DAYS`` are deleted from ``raw`` once visits
  exist for them in ``marts.fct_visits``.
- A card no longer in use leaves ``identity.cards`` once no row in ``raw`` names it for the
  batches it was in use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import psycopg
from psycopg import sql

from libcrm import settings
from libcrm.identity import CARD_KEYED, card_held

# Each circulation table and the column that says when its record stopped being current.
CIRCULATION_ENDS = (
    ("loans", "returned_at"),
    ("holds", "closed_at"),
    ("purchase_requests", "decided_at"),
)


@dataclass(frozen=True)
class RetentionResult:
    """Rows changed by one application of the limits."""

    loans_detached: int
    holds_detached: int
    requests_detached: int
    gate_passages_deleted: int
    retired_cards_forgotten: int


def limits() -> tuple[int, int]:
    """The configured limits in days: (loan link, gate passages)."""
    configured = settings.load()
    return configured.loan_link_days, configured.gate_passage_days


def apply(conn: psycopg.Connection, run_day: date) -> RetentionResult:
    """Apply both limits as of ``run_day`` in one transaction."""
    loan_days, gate_days = limits()
    loan_cutoff = run_day - timedelta(days=loan_days)
    gate_cutoff = run_day - timedelta(days=gate_days)
    with conn.transaction():
        detached = [
            conn.execute(
                sql.SQL(
                    "update {} set patron_id = null, user_key = null "
                    "where {} < %s and patron_id is not null"
                ).format(sql.Identifier("raw", table), sql.Identifier(ended)),
                [loan_cutoff],
            ).rowcount
            for table, ended in CIRCULATION_ENDS
        ]
        visits_built = conn.execute("select to_regclass('marts.fct_visits')").fetchone()[0]
        deleted = 0
        if visits_built:
            deleted = conn.execute(
                "delete from raw.gate_passages where passed_at < %s "
                "and passed_at <= (select max(entered_at) from marts.fct_visits)",
                [gate_cutoff],
            ).rowcount
        forgotten = _forget_retired_cards(conn)
    return RetentionResult(*detached, deleted, forgotten)


def _forget_retired_cards(conn: psycopg.Connection) -> int:
    """Delete the mappings of cards no longer in use that no raw row needs any more."""
    retired = conn.execute("select count(*) from identity.cards where to_batch is not null")
    if not retired.fetchone()[0]:
        return 0
    still_named = " and ".join(
        f"not exists (select from raw.{table} as keyed where {card_held('keyed', card)})"
        for table, card in CARD_KEYED.items()
    )
    return conn.execute(
        f"delete from identity.cards as cards where to_batch is not null and {still_named}"  # noqa: S608
    ).rowcount
