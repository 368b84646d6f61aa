"""Publication of the portal tables: atomic for concurrent readers, history kept per day."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta

import psycopg
import pytest

from recsys.nightly import ACTIVITY_COLUMNS, RESOURCE_COLUMNS
from recsys.publish import LOG_RETENTION_DAYS, Replacement, replace_all

DAY = date(2026, 3, 18)
COUNTS = """
select
    (select count(*) from portal.resource_recommendations),
    (select count(*) from portal.activity_recommendations)
"""


def _resources(patrons, version, pause=0.0):
    for patron in range(patrons):
        if pause and patron % 100 == 0:
            time.sleep(pause)  # a slow producer keeps the publishing transaction open
        for rank in range(1, 11):
            yield (f"P{patron:06d}", rank, f"I{rank:07d}", 1.0 / rank, "why", DAY, version)


def _activities(patrons, version):
    for patron in range(patrons):
        yield (f"P{patron:06d}", 1, "E1", 1.0, "why", DAY, version)


def _publish(url, patrons, version, pause=0.0):
    with psycopg.connect(url) as conn:
        return replace_all(
            conn,
            [
                Replacement(
                    ("portal", "resource_recommendations"),
                    RESOURCE_COLUMNS,
                    _resources(patrons, version, pause),
                ),
                Replacement(
                    ("portal", "activity_recommendations"),
                    ACTIVITY_COLUMNS,
                    _activities(patrons, version),
                ),
            ],
        )


@pytest.fixture
def portal(warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("truncate portal.resource_recommendations, portal.activity_recommendations")
        conn.execute("truncate recsys.recommendation_log")
    return warehouse_url


def test_a_reader_during_publication_sees_the_old_or_the_new_full_sets(portal):
    assert _publish(portal, 300, "old") == [3000, 300]
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
        return [("resource", f"u{u}", 1, "I1", 1.0, day, "v") for u in range(users)]

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
