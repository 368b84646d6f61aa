"""Holds and purchase requests from the ILS exports to the marts and the raw gates, on a simulated
small library loaded night by night into a real PostgreSQL."""

from __future__ import annotations

import json
from datetime import date, timedelta

import psycopg
import pytest

from expectations.runner import CriticalValidationError
from libcrm import pipeline, transform
from libcrm.ingest.sources import HOLD_STATUSES, REQUEST_STATUSES
from libcrm.tooling.simulate import simulate

FIRST_DAY = date(2026, 3, 16)
NEXT_DAY = FIRST_DAY + timedelta(days=1)
FACTS = {
    "fct_holds": ("hold_id", "placed_at", "holds"),
    "fct_purchase_requests": ("request_id", "requested_at", "purchase_requests"),
}
# dbt var activity_window_days: the profiles count holds and requests of this many days.
ACTIVITY_WINDOW_DAYS = 90
# Injected rows get lines no export file reaches, so they can be found and removed again.
INJECTED_LINE = 1_000_000


def _rows(url: str, query: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def _table(url: str, fact: str) -> list[tuple]:
    key = FACTS[fact][0]
    return _rows(url, f"select * from marts.{fact} order by {key}")  # noqa: S608


def _night(day: date, run_id: str) -> dict:
    for source in pipeline.SOURCES:
        pipeline.ingest_source(source, day)
    checked = pipeline.validate("raw", day, run_id)
    pipeline.build_marts(day)
    return checked


@pytest.fixture(scope="module")
def library(warehouse_url, tmp_path_factory):
    """Two nights of a small simulated library; the facts as each night left them."""
    landing = tmp_path_factory.mktemp("landing")
    simulate(landing, landing.parent / "truth.json", scale="small", first_day=FIRST_DAY, days=2)
    dbt = tmp_path_factory.mktemp("dbt")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
        patch.setenv("LIBCRM_LANDING_DIR", str(landing))
        patch.setenv("LIBCRM_DATA_DOCS_DIR", str(tmp_path_factory.mktemp("data_docs")))
        patch.setenv("DBT_TARGET_PATH", str(dbt / "target"))
        patch.setenv("DBT_LOG_PATH", str(dbt / "logs"))
        checks = [_night(FIRST_DAY, "night-1")]
        first = {fact: _table(warehouse_url, fact) for fact in FACTS}
        checks.append(_night(NEXT_DAY, "night-2"))
        yield {"url": warehouse_url, "checks": checks, "first": first}


def test_facts_hold_one_row_per_hold_and_request_known_by_the_night(library):
    url = library["url"]
    for fact, (key, moment, raw) in FACTS.items():
        built = _rows(url, f"select {key}, user_key, status from marts.{fact}")  # noqa: S608
        known = _rows(
            url,
            f"select distinct {key} from raw.{raw} "  # noqa: S608
            f"where user_key is not null and {moment} < %s",
            [NEXT_DAY + timedelta(days=1)],
        )
        assert len(built) == len({row[0] for row in built}) > 0
        assert {row[0] for row in built} == {row[0] for row in known}
        assert all(row[1] for row in built)
    columns = _rows(
        url,
        "select table_name, column_name from information_schema.columns "
        "where table_schema in ('staging', 'marts') and table_name = any(%s)",
        [[*FACTS, "stg_ils__holds", "stg_ils__purchase_requests"]],
    )
    assert {table for table, _ in columns} == {
        *FACTS,
        "stg_ils__holds",
        "stg_ils__purchase_requests",
    }
    assert not [row for row in columns if row[1] == "patron_id"]
    for fact, statuses in (
        ("fct_holds", HOLD_STATUSES),
        ("fct_purchase_requests", REQUEST_STATUSES),
    ):
        found = {row[0] for row in _rows(url, f"select distinct status from marts.{fact}")}  # noqa: S608
        assert found <= set(statuses)
        assert len(found) >= 3  # the simulated library exercises most of the life cycle


def test_profiles_count_holds_and_requests_of_the_activity_window(library):
    url = library["url"]
    [(holds, requests)] = _rows(
        url,
        "select sum(holds_in_window), sum(purchase_requests_in_window) from marts.user_profiles",
    )
    [(expected_holds, expected_requests)] = _rows(
        url,
        """
        select
            (select count(*) from marts.fct_holds
             where placed_at >= %(start)s and user_key in (select user_key from marts.dim_users)),
            (select count(*) from marts.fct_purchase_requests
             where requested_at >= %(start)s and user_key in (select user_key from marts.dim_users))
        """,
        {"start": NEXT_DAY + timedelta(days=1 - ACTIVITY_WINDOW_DAYS)},
    )
    assert holds == expected_holds > 0
    assert requests == expected_requests > 0


def test_an_incremental_night_equals_a_full_rebuild(library):
    url = library["url"]
    incremental = {fact: _table(url, fact) for fact in FACTS}
    transform.run_dbt(
        [
            "build",
            "--full-refresh",
            "--select",
            " ".join(FACTS),
            "--vars",
            json.dumps({"as_of": NEXT_DAY.isoformat()}),
        ],
        url,
    )
    assert {fact: _table(url, fact) for fact in FACTS} == incremental


def test_re_running_the_first_night_shows_holds_and_requests_as_they_were_then(library):
    url = library["url"]
    closed_next_day = _rows(
        url,
        "select hold_id from marts.fct_holds where closed_at >= %s and placed_at < %s",
        [NEXT_DAY, NEXT_DAY],
    )
    assert closed_next_day, "the second night closes some holds placed before it"
    pipeline.build_marts(FIRST_DAY)
    try:
        assert {fact: _table(url, fact) for fact in FACTS} == library["first"]
        again = _rows(
            url,
            "select status, closed_at from marts.fct_holds where hold_id = any(%s)",
            [[row[0] for row in closed_next_day]],
        )
        assert set(again) == {("waiting", None)}
    finally:
        pipeline.build_marts(NEXT_DAY)


def test_a_clean_day_passes_the_raw_suites(library):
    for checked in library["checks"]:
        assert checked["failed_critical"] == 0 and checked["failed_warning"] == 0
    suites = _rows(
        library["url"],
        "select distinct suite from quality.validation_results where run_id = 'night-2' "
        "and suite in ('raw_holds', 'raw_purchase_requests') and success",
    )
    assert {row[0] for row in suites} == {"raw_holds", "raw_purchase_requests"}


@pytest.fixture
def injected(library):
    """Insert a copy of one of the second night's raw rows with changed columns; removed after."""

    def inject(table: str, key: str, **changes) -> None:
        changes = {**changes, "source_line": INJECTED_LINE}
        with psycopg.connect(library["url"]) as conn:
            columns = [
                row[0]
                for row in conn.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'raw' and table_name = %s order by ordinal_position",
                    [table],
                )
            ]
            chosen = ", ".join(f"%({name})s" if name in changes else name for name in columns)
            conn.execute(
                f"insert into raw.{table} select {chosen} from raw.{table} "  # noqa: S608
                "where batch_id = (select max(batch_id) from raw.load_audit "
                "where entity = %(entity)s and status = 'loaded') "
                f"order by {key} limit 1",
                {**changes, "entity": table},
            )

    yield inject
    with psycopg.connect(library["url"]) as conn:
        for table in ("holds", "purchase_requests"):
            conn.execute(f"delete from raw.{table} where source_line = %s", [INJECTED_LINE])  # noqa: S608


def _stopped(library: dict, run_id: str) -> list[tuple]:
    with pytest.raises(CriticalValidationError, match="portal keeps its previous tables"):
        pipeline.validate("raw", NEXT_DAY, run_id)
    return _rows(
        library["url"],
        "select suite, expectation, column_name, observed_value from quality.validation_results "
        "where run_id = %s and not success and severity = 'critical' order by suite",
        [run_id],
    )


def test_a_hold_with_an_unknown_status_stops_the_night(library, injected):
    """Statuses are checked once, by dbt against its vocabulary seed: the build fails."""
    injected("holds", "hold_id", hold_id="H-LOST", status="lost")
    with pytest.raises(transform.TransformError, match="in_vocabulary_stg_ils__holds_status"):
        pipeline.build_marts(NEXT_DAY)


def test_a_duplicated_hold_stops_the_night(library, injected):
    injected("holds", "hold_id")
    failed = _stopped(library, "duplicated-hold")
    assert [row[:3] for row in failed] == [
        ("raw_holds", "expect_column_values_to_be_unique", "hold_id")
    ]


def test_a_duplicated_purchase_request_stops_the_night(library, injected):
    injected("purchase_requests", "request_id")
    failed = _stopped(library, "duplicated-request")
    assert [row[:3] for row in failed] == [
        ("raw_purchase_requests", "expect_column_values_to_be_unique", "request_id")
    ]
