"""Publication of the portal tables: atomic for concurrent readers, one at a time, never back
in time, history kept per day."""

from __future__ import annotations

import logging
import threading
import time
from datetime import date, timedelta

import psycopg
import pytest
from psycopg.types.json import Jsonb

from recsys.nightly import ACTIVITY_COLUMNS, RESOURCE_COLUMNS
from recsys.publish import LOG_RETENTION_DAYS, Night, Replacement, replace_all

DAY = date(2026, 3, 18)
WHY = ("among the books most borrowed lately", "popular", Jsonb({}))
COUNTS = """
select
    (select count(*) from portal.resource_recommendations),
    (select count(*) from portal.activity_recommendations)
"""


def _resources(patrons, version, pause=0.0, day=DAY):
    for patron in range(patrons):
        if pause and patron % 100 == 0:
            time.sleep(pause)  # a slow producer keeps the publishing transaction open
        for rank in range(1, 11):
            yield (f"P{patron:06d}", rank, f"I{rank:07d}", 1.0 / rank, *WHY, day, version)


def _activities(patrons, version, day=DAY):
    for patron in range(patrons):
        yield (f"P{patron:06d}", 1, "E1", 1.0, *WHY, day, version)


def _history(patrons, version, day):
    return [
        ("resource", f"u{patron}", 1, "I1", 1.0, day, version, "popular", Jsonb({}))
        for patron in range(patrons)
    ]


def _publish(url, patrons, version, pause=0.0, day=None):
    """Publish both portal tables (and, for a ``day``, its history); return the Publication."""
    with psycopg.connect(url) as conn:
        return replace_all(
            conn,
            [
                Replacement(
                    ("portal", "resource_recommendations"),
                    RESOURCE_COLUMNS,
                    _resources(patrons, version, pause, day or DAY),
                ),
                Replacement(
                    ("portal", "activity_recommendations"),
                    ACTIVITY_COLUMNS,
                    _activities(patrons, version, day or DAY),
                ),
            ],
            _history(patrons, version, day) if day else (),
            day,
        )


def _served(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select generated_for, model_version, count(*) from portal.resource_recommendations "
            "group by 1, 2"
        ).fetchall()


@pytest.fixture
def portal(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("truncate portal.resource_recommendations, portal.activity_recommendations")
        conn.execute("truncate recsys.recommendation_log")
    return warehouse_url


def test_a_reader_during_publication_sees_the_old_or_the_new_full_sets(portal):
    assert _publish(portal, 300, "old").rows_written == [3000, 300]
    publisher = threading.Thread(target=_publish, args=(portal, 500, "new", 0.2))
    seen = []
    with psycopg.connect(portal, autocommit=True) as reader:
        publisher.start()
        while publisher.is_alive():
            seen.append(reader.execute(COUNTS).fetchone())
            time.sleep(0.02)
        publisher.join()
        seen.append(reader.execute(COUNTS).fetchone())
        versions = reader.execute(
            "select distinct model_version from portal.resource_recommendations "
            "union select distinct model_version from portal.activity_recommendations"
        ).fetchall()
    assert set(seen) <= {(3000, 300), (5000, 500)}
    assert seen.count((3000, 300)) >= 5  # readers kept the old sets while publishing ran
    assert seen[-1] == (5000, 500)
    assert versions == [("new",)]


def test_a_failed_publication_keeps_the_previous_sets(portal):
    _publish(portal, 20, "old")

    def broken():
        yield from _resources(5, "new")
        raise RuntimeError("the model crashed halfway")

    with psycopg.connect(portal) as conn, pytest.raises(RuntimeError, match="halfway"):
        replace_all(
            conn,
            [
                Replacement(("portal", "activity_recommendations"), ACTIVITY_COLUMNS, []),
                Replacement(("portal", "resource_recommendations"), RESOURCE_COLUMNS, broken()),
            ],
        )
    with psycopg.connect(portal) as conn:
        assert conn.execute(COUNTS).fetchone() == (200, 20)


def test_history_replaces_its_day_and_forgets_beyond_retention(portal):
    def log(day, users):
        return [
            ("resource", f"u{u}", 1, "I1", 1.0, day, "v", "popular", None) for u in range(users)
        ]

    old_day = DAY - timedelta(days=LOG_RETENTION_DAYS + 1)
    with psycopg.connect(portal) as conn:
        replace_all(conn, [], log(old_day, 2), old_day)
        replace_all(conn, [], log(DAY - timedelta(days=1), 3), DAY - timedelta(days=1))
        replace_all(conn, [], log(DAY, 4), DAY)
        replace_all(conn, [], log(DAY, 5), DAY)  # the same night run again
        per_day = conn.execute(
            "select generated_for, count(*) from recsys.recommendation_log group by 1 order by 1"
        ).fetchall()
    assert per_day == [(DAY - timedelta(days=1), 3), (DAY, 5)]


def test_an_older_night_keeps_the_portal_and_its_history_and_says_why(portal, caplog):
    yesterday = DAY - timedelta(days=1)
    assert _publish(portal, 30, "tonight", day=DAY).published
    with caplog.at_level(logging.WARNING, logger="recsys.publish"):
        older = _publish(portal, 20, "re-run", day=yesterday)
    assert (older.published, older.served_before, older.rows_written) == (False, DAY, [0, 0])
    assert f"serves the night of {DAY}" in older.reason
    assert older.reason in caplog.text
    assert _served(portal) == [(DAY, "tonight", 300)]
    with psycopg.connect(portal) as conn:
        history = conn.execute(
            "select generated_for, count(*) from recsys.recommendation_log group by 1"
        ).fetchall()
    assert history == [(DAY, 30)]
    again = _publish(portal, 40, "tonight again", day=DAY)  # the same night re-runs as before
    assert again.published and _served(portal) == [(DAY, "tonight again", 400)]


def test_overlapping_publications_take_turns_and_the_later_one_wins(portal, caplog):
    failures = []

    def publish(version, pause):
        try:
            _publish(portal, 300, version, pause, day=DAY)
        except psycopg.Error as error:  # the defect: a raw UniqueViolation
            failures.append(error)

    first = threading.Thread(target=publish, args=("first", 0.3))
    with caplog.at_level(logging.INFO, logger="recsys.publish"):
        first.start()
        with psycopg.connect(portal, autocommit=True) as watcher:
            while not watcher.execute(
                "select count(*) from pg_stat_activity where query like 'copy%%' "
                "and state = 'active' and pid <> pg_backend_pid()"
            ).fetchone()[0]:
                time.sleep(0.02)  # until the first publication is copying its rows
        second = threading.Thread(target=publish, args=("second", 0.0))
        second.start()
        first.join()
        second.join()
    assert failures == []
    assert "another publication of the portal is running" in caplog.text
    assert _served(portal) == [(DAY, "second", 3000)]


def test_the_publication_row_is_written_with_the_tables_it_describes(portal):
    with psycopg.connect(portal) as conn:
        conn.execute("truncate portal.publication")
    _publish(portal, 30, "first", day=DAY - timedelta(days=1))
    seen = []

    def slow():
        yield from _resources(2000, "second", pause=0.02)

    def publish():
        with psycopg.connect(portal) as conn:
            replace_all(
                conn,
                [Replacement(("portal", "resource_recommendations"), RESOURCE_COLUMNS, slow())],
                (),
                DAY,
                Night(DAY, "second", "events-second"),
            )

    writer = threading.Thread(target=publish)
    writer.start()
    with psycopg.connect(portal, autocommit=True) as reader:
        while writer.is_alive():
            with reader.transaction():
                reader.execute("set transaction isolation level repeatable read")
                night = reader.execute(
                    "select generated_for from portal.publication order by generated_for desc"
                ).fetchone()
                served = reader.execute(
                    "select distinct generated_for from portal.resource_recommendations"
                ).fetchall()
            seen.append((night, served))
            time.sleep(0.05)
    writer.join()
    assert len(seen) >= 3
    # Before the commit no row (the first publication had no night record), after it the new.
    assert all(night in {None, (DAY,)} for night, _ in seen)
    assert all(
        served == ([night] if night else [(DAY - timedelta(days=1),)]) for night, served in seen
    )
    with psycopg.connect(portal) as conn:
        row = conn.execute(
            "select generated_for, model_version, activity_model_version, row_counts"
            " from portal.publication"
        ).fetchall()
    assert row == [(DAY, "second", "events-second", {"portal.resource_recommendations": 20000})]
