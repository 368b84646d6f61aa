"""What the portal reported: the recommendations it showed and those a reader dismissed.

The portal API writes them by ``patron_id`` into ``portal.impressions`` and
``portal.dismissals``, which the portal may only insert into. Each night, before ranking,
:func:`take_in` moves them into ``recsys`` by ``user_key`` (for the uptake mart and the
recommender) and deletes them from ``portal``; rows of readers who opted out or left are
dropped, not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import psycopg

from recsys.publish import LOG_RETENTION_DAYS

# The portal's words for a list and the recommender's (recsys.recommendation_log.kind).
KINDS = {"books": "resource", "events": "activity"}


@dataclass(frozen=True)
class Intake:
    """Rows moved from the portal tonight, and those dropped (readers not eligible)."""

    impressions: int
    dismissals: int
    dropped: int


def _move(conn, source: str, target: str, moment: str, keys: Mapping[str, str]) -> tuple:
    last = conn.execute(f"select max(id) from portal.{source}").fetchone()[0]  # noqa: S608
    if last is None:
        return 0, 0
    rows = conn.execute(
        f"select patron_id, kind, target_id, {moment} from portal.{source} "  # noqa: S608
        "where id <= %s",
        [last],
    ).fetchall()
    kept = [
        (KINDS[kind], keys[patron], target, at)
        for patron, kind, target, at in rows
        if patron in keys
    ]
    with conn.cursor() as cursor:
        cursor.executemany(
            f"insert into recsys.{target} (kind, user_key, target_id, {moment}) "  # noqa: S608
            "values (%s, %s, %s, %s) on conflict do nothing",
            kept,
        )
    conn.execute(f"delete from portal.{source} where id <= %s", [last])  # noqa: S608
    return len(kept), len(rows) - len(kept)


def take_in(conn: psycopg.Connection, patrons: Mapping[str, str], night: date) -> Intake:
    """Move the portal's impressions and dismissals into ``recsys`` in one transaction, and
    drop impressions older than the recommendation log keeps (``LOG_RETENTION_DAYS``).

    ``patrons`` maps ``user_key`` to ``patron_id`` for the eligible readers.
    """
    keys = {patron: user for user, patron in patrons.items()}
    with conn.transaction():
        conn.execute(
            "delete from recsys.impressions where shown_at < %s::date - make_interval(days => %s)",
            [night, LOG_RETENTION_DAYS],
        )
        shown, dropped_shown = _move(conn, "impressions", "impressions", "shown_at", keys)
        dismissed, dropped_dismissed = _move(conn, "dismissals", "dismissals", "dismissed_at", keys)
    return Intake(shown, dismissed, dropped_shown + dropped_dismissed)


def dismissed(conn: psycopg.Connection, kind: str) -> dict[str, set[str]]:
    """``user_key -> target ids`` a reader dismissed, of ``kind`` (resource or activity)."""
    found: dict[str, set[str]] = {}
    for user, target in conn.execute(
        "select user_key, target_id from recsys.dismissals where kind = %s", [kind]
    ):
        found.setdefault(user, set()).add(target)
    return found
