"""marts.fct_recommendation_uptake built by dbt on a hand-made warehouse: an impression counts
for the night whose list the portal was serving when it was shown, not for every night whose
list held the same book or event."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import psycopg
import pytest
from psycopg.types.json import Jsonb

from libcrm import transform
from tests.test_dbt_marts import separate_dbt_folders

FIRST = date(2026, 3, 2)
SECOND = FIRST + timedelta(days=1)
LIBRARY_TIME = timezone(timedelta(hours=8))
MARTS = """
create schema if not exists marts;
create table marts.dim_items (item_id text, work_id text);
create table marts.fct_loans (user_key text, item_id text, checkout_date date);
create table marts.fct_event_attendance (user_key text, event_id text, registered_at timestamp);
insert into marts.dim_items values ('B1', 'B1'), ('B1-copy', 'B1');
"""
FEEDBACK = (
    "recsys.recommendation_log",
    "portal.publication",
    "recsys.impressions",
    "marts.fct_loans",
)


def _noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=LIBRARY_TIME)


def _night(day: date, lists: dict[str, list[tuple[str, str]]]) -> list[tuple]:
    """The night's recommendation log rows: ``kind -> [(user_key, target_id), ...]``."""
    version = {"resource": f"als-{day:%Y%m%d}", "activity": f"activities-{day:%Y%m%d}"}
    return [
        (kind, user, 1, target, 1.0, day, version[kind], "popular", Jsonb({}))
        for kind, rows in lists.items()
        for user, target in rows
    ]


@pytest.fixture(scope="module")
def uptake(warehouse_url, tmp_path_factory):
    """Fill the log, the publications, the impressions and the loans; build the mart; return
    its rows as ``(generated_for, kind) -> row``."""
    with psycopg.connect(warehouse_url) as conn:
        conn.execute(MARTS)
    folder = tmp_path_factory.mktemp("dbt")

    def build(log, published, impressions, loans=()):
        with psycopg.connect(warehouse_url) as conn:
            conn.execute(f"truncate {', '.join(FEEDBACK)}")
            cursor = conn.cursor()
            cursor.executemany(
                "insert into recsys.recommendation_log (kind, user_key, rank, target_id, score,"
                " generated_for, model_version, reason_code, reason_params)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                log,
            )
            cursor.executemany(
                "insert into portal.publication values (%s, %s, %s, %s, '{}')",
                [
                    (
                        day,
                        _noon(day + timedelta(days=1)) - timedelta(hours=10),
                        f"als-{day:%Y%m%d}",
                        None,
                    )
                    for day in published
                ],
            )
            cursor.executemany(
                "insert into recsys.impressions values (%s, %s, %s, %s)", impressions
            )
            cursor.executemany("insert into marts.fct_loans values (%s, %s, %s)", loans)
        variables = {"as_of": (SECOND + timedelta(days=20)).isoformat()}
        with separate_dbt_folders(folder):
            transform.run_dbt(
                ["build", "--select", "fct_recommendation_uptake", "--vars", json.dumps(variables)],
                warehouse_url,
            )
        with psycopg.connect(warehouse_url) as conn:
            cursor = conn.cursor(row_factory=psycopg.rows.dict_row)
            rows = cursor.execute("select * from marts.fct_recommendation_uptake").fetchall()
        return {(row["generated_for"], row["kind"]): row for row in rows}

    return build


def test_impressions_after_the_second_publication_count_for_the_second_night_alone(uptake):
    """Two nights recommend the same book and event to u1; the portal shows them only once the
    second night is served, and u1 borrows another copy of the book after that."""
    both = {"resource": [("u1", "B1")], "activity": [("u1", "E1")]}
    shown_at = _noon(SECOND + timedelta(days=1))
    rows = uptake(
        _night(FIRST, both) + _night(SECOND, both),
        [FIRST, SECOND],
        [("resource", "u1", "B1", shown_at), ("activity", "u1", "E1", shown_at)],
        [("u1", "B1-copy", SECOND + timedelta(days=2))],
    )
    shown = {key: row["users_shown"] for key, row in rows.items()}
    assert shown == {
        (FIRST, "resource"): 0,
        (SECOND, "resource"): 1,
        (FIRST, "activity"): 0,
        (SECOND, "activity"): 1,
    }
    # Uptake stays each night's own: the loan falls in both nights' windows.
    first, second = rows[(FIRST, "resource")], rows[(SECOND, "resource")]
    assert (first["users_took_up"], second["users_took_up"]) == (1, 1)
    assert (first["users_shown_took_up"], first["users_not_shown_took_up"]) == (0, 1)
    assert (second["users_shown_took_up"], second["users_not_shown_took_up"]) == (1, 0)


def test_an_impression_while_the_first_night_is_served_counts_for_the_first_night_alone(uptake):
    both = {"resource": [("u1", "B1")]}
    rows = uptake(
        _night(FIRST, both) + _night(SECOND, both),
        [FIRST, SECOND],
        [("resource", "u1", "B1", _noon(SECOND))],
    )
    assert rows[(FIRST, "resource")]["users_shown"] == 1
    assert rows[(SECOND, "resource")]["users_shown"] == 0


def test_a_publication_without_events_ends_the_previous_nights_events(uptake):
    """The second night published books only: from then on the portal served no event list,
    so a later impression of the first night's event is not the first night's."""
    rows = uptake(
        _night(FIRST, {"resource": [("u1", "B1")], "activity": [("u1", "E1")]})
        + _night(SECOND, {"resource": [("u1", "B1")]}),
        [FIRST, SECOND],
        [("activity", "u1", "E1", _noon(SECOND + timedelta(days=1)))],
    )
    assert rows[(FIRST, "activity")]["users_shown"] == 0


def test_impressions_past_the_window_are_not_counted(uptake):
    """The portal kept serving the only night for longer than the window (no later night was
    published): an impression after the window is not counted, as a loan after it is not."""
    rows = uptake(
        _night(FIRST, {"resource": [("u1", "B1"), ("u2", "B1")]}),
        [FIRST],
        [
            ("resource", "u1", "B1", _noon(FIRST + timedelta(days=14))),
            ("resource", "u2", "B1", _noon(FIRST + timedelta(days=15))),
        ],
    )
    assert rows[(FIRST, "resource")]["users_shown"] == 1
