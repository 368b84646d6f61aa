"""The benchmark's "ALS kept" reference: the recommend stage of an incremental night at a
library whose week's choice is ALS, warm-started (``recsys.warm``) and cold, on the same data.

A simulated library may choose a popularity list (the large one does), and then its nights
fit no ALS at all; this reference measures what the night costs where ALS won, and what the
warm start changes in quality: the nDCG@10 of both fits on the same validation split, and how
many of the portal's books the two publications share.
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta

from psycopg import sql

from libcrm import db
from recsys.candidates import BASELINE, BY_NAME

ALS = "als-blend"
CANDIDATES = (BY_NAME[BASELINE], BY_NAME[ALS])


def _portal_lists(conn) -> dict[str, set[str]]:
    lists: dict[str, set[str]] = {}
    for patron, item in conn.execute(
        "select patron_id, item_id from portal.resource_recommendations"
    ):
        lists.setdefault(patron, set()).add(item)
    return lists


def _run(day: date, run_id: str, schedule: str):
    from recsys import nightly

    os.environ["LIBCRM_MODEL_SELECTION"] = schedule  # a write: this process's own setting
    started = time.perf_counter()
    result = nightly.run(day, run_id, candidates=CANDIDATES)
    return result, time.perf_counter() - started


def kept_als_reference(day: date) -> tuple[int, dict[str, float], dict]:
    """Select between the most-borrowed list and ``ALS`` on the night before ``day`` (not
    timed), then run ``day``'s recommend stage twice: on the weekly schedule (the week's
    choice kept, its fits warm-started) and as a selection night (every fit cold).

    Returns the rows published, the seconds of each run (``warm``, ``cold``, and each one's
    steps, as the recommend stage reports them), and the quality of each: nDCG@10 on the
    validation split and the share of the warm publication's books that the cold one also
    recommends. Where the
    library's data does not let ``ALS`` win (a small library's thin validation window), the
    quality says why instead (``skipped``) and nothing is timed.
    """
    with db.connect() as conn:
        # The benchmark's own warehouse: the nights it ran are forgotten by the portal and the
        # warm starts, so that the night before publishes again and tonight starts from it.
        conn.execute("delete from recsys.warm_factors")
        served = conn.execute(
            "select table_name from information_schema.columns "
            "where table_schema = 'portal' and column_name = 'generated_for'"
        ).fetchall()
        for (table,) in served:
            conn.execute(
                sql.SQL("delete from {} where generated_for >= %s").format(
                    sql.Identifier("portal", table)
                ),
                [day],
            )
    previous, _ = _run(day - timedelta(days=1), f"bench-als-{day}-before", "nightly")
    if previous.published_model != ALS:
        return 0, {}, {"skipped": previous.gate}
    warm, warm_seconds = _run(day, f"bench-als-{day}-warm", "weekly")
    if warm.selected or warm.published_model != ALS or None in warm.warm_started.values():
        return 0, {}, {"skipped": f"{warm.gate}; warm starts {warm.warm_started}"}
    with db.connect() as conn:
        warm_lists = _portal_lists(conn)
    cold, cold_seconds = _run(day, f"bench-als-{day}-cold", "nightly")
    with db.connect() as conn:
        cold_lists = _portal_lists(conn)
    shared = sum(len(books & cold_lists.get(patron, set())) for patron, books in warm_lists.items())
    total = sum(len(books) for books in warm_lists.values())
    steps = {
        "warm": round(warm_seconds, 2),
        "cold": round(cold_seconds, 2),
        **{f"warm_{step}": round(seconds, 2) for step, seconds in warm.seconds.items()},
        **{f"cold_{step}": round(seconds, 2) for step, seconds in cold.seconds.items()},
    }
    quality = {
        "warm_ndcg_at_10": round(warm.model.ndcg_at_10, 5),
        "cold_ndcg_at_10": round(cold.model.ndcg_at_10, 5),
        "popularity_ndcg_at_10": round(warm.popularity.ndcg_at_10, 5),
        "shared_books": round(shared / total, 4) if total else 0.0,
    }
    return warm.rows_published, steps, quality
