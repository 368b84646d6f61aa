"""What ``raw.load_audit`` says about a day's batches: delivered or not, initial or not, and the
volume band learned from the entity's recent incremental batches."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date

from libcrm import db

# Two weeks of incremental days covers a full weekly rhythm (weekends, a seminar day).
BAND_WINDOW_DAYS = 14
# Fewer earlier incremental days than this gives no trustworthy median: the band is skipped.
BAND_MIN_HISTORY = 3
# Term weeks, weekends and exam periods move daily volumes by up to about 2x; beyond 3x the
# export is partial or duplicated.
BAND_FACTOR = 3.0
# Small daily batches (a few new patrons, a handful of events) vary by this many rows by chance.
BAND_SLACK_ROWS = 10


@dataclass(frozen=True)
class BatchFacts:
    """One entity's batches for the run's day.

    Attributes
    ----------
    entity : str
        ``raw`` table name (``loans``).
    initial : bool
        The day's batch is the entity's first: an initial export holding the whole history, so
        its timestamps start long before the data interval and it has no volume band.
    history : tuple of int
        Rows loaded on the entity's most recent earlier incremental days, newest first.
    batches : tuple of int
        The day's loaded batches: suites select their rows by these ids, so PostgreSQL reads
        them through the batch index instead of scanning the whole table.
    """

    entity: str
    initial: bool
    history: tuple[int, ...]
    batches: tuple[int, ...]

    @property
    def delivered(self) -> bool:
        """A file of this entity was loaded for the day (an absent file means nothing
        changed)."""
        return bool(self.batches)

    def band(self) -> tuple[int, int | None, str]:
        """Return ``(min_rows, max_rows, note)`` for the day's volume check.

        The band is the median of recent incremental days divided and multiplied by
        ``BAND_FACTOR``, widened by ``BAND_SLACK_ROWS``. Without a delivered incremental batch or
        enough history the band is skipped (``0, None``) and the note says why.
        """
        if not self.delivered:
            return 0, None, "no export delivered for the day (nothing changed): band skipped"
        if self.initial:
            return 0, None, "initial export (whole history): band skipped"
        if len(self.history) < BAND_MIN_HISTORY:
            return (
                0,
                None,
                f"band skipped: {len(self.history)} earlier incremental day(s), "
                f"{BAND_MIN_HISTORY} needed",
            )
        median = statistics.median(self.history)
        low = max(0, int(median / BAND_FACTOR) - BAND_SLACK_ROWS)
        high = int(median * BAND_FACTOR) + BAND_SLACK_ROWS
        return (
            low,
            high,
            f"band [{low}, {high}] from the median {median:g} of the last "
            f"{len(self.history)} incremental days",
        )


def batch_facts(url: str, data_date: date, entities: list[str]) -> dict[str, BatchFacts]:
    """Read ``raw.load_audit`` for ``entities`` up to ``data_date``.

    Parameters
    ----------
    url : str
        Warehouse URL.
    data_date : datetime.date
        The run's day.
    entities : list of str
        ``raw`` table names.

    Returns
    -------
    dict
        ``BatchFacts`` per entity.
    """
    with db.connect(url) as conn:
        rows = conn.execute(
            """
            with days as (
                select entity, data_date, sum(rows_loaded) as rows_loaded
                from raw.load_audit
                where status = 'loaded' and data_date <= %(day)s and entity = any(%(entities)s)
                group by entity, data_date
            ),

            firsts as (
                select entity, min(data_date) as first_day from days group by entity
            ),

            recent as (
                select
                    days.entity,
                    days.data_date,
                    days.rows_loaded,
                    row_number() over (
                        partition by days.entity order by days.data_date desc
                    ) as recency
                from days
                inner join firsts on days.entity = firsts.entity
                where days.data_date < %(day)s and days.data_date > firsts.first_day
            )

            select
                firsts.entity,
                firsts.first_day,
                coalesce(
                    array_agg(recent.rows_loaded order by recent.data_date desc)
                    filter (where recent.recency <= %(window)s),
                    '{}'
                ) as history
            from firsts
            left join recent on firsts.entity = recent.entity
            group by firsts.entity, firsts.first_day
            """,
            {"day": data_date, "entities": entities, "window": BAND_WINDOW_DAYS},
        ).fetchall()
        batches = dict(
            conn.execute(
                "select entity, array_agg(batch_id order by batch_id) from raw.load_audit "
                "where status = 'loaded' and data_date = %s and entity = any(%s) group by entity",
                [data_date, entities],
            ).fetchall()
        )
    found = {
        entity: BatchFacts(
            entity, first_day == data_date, tuple(history), tuple(batches.get(entity, ()))
        )
        for entity, first_day, history in rows
    }
    return {entity: found.get(entity, BatchFacts(entity, True, (), ())) for entity in entities}
