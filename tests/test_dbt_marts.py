"""The dbt marts on a simulated small library loaded night by night into a real PostgreSQL:
contract marts, re-runs, leaderboards, segments against the planted truth, and the docs."""

from __future__ import annotations

import json
from collections import Counter
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import psycopg
import pytest
import yaml
from psycopg import sql

from libcrm import config, ingest, pseudonym, transform
from libcrm.tooling.simulate import simulate

FIRST_DAY = date(2026, 3, 16)
NIGHTS = 3
LAST_DAY = FIRST_DAY + timedelta(days=NIGHTS - 1)
SOURCES = ("ils", "gate", "events")
CONTRACT_MARTS = (
    "marts.dim_users",
    "marts.dim_items",
    "marts.dim_events",
    "marts.fct_loans",
    "marts.fct_visits",
    "marts.fct_event_attendance",
    "marts.user_profiles",
    "marts.opinion_leaders",
    "marts.leaderboard_quarterly",
    "snapshots.user_segments_snapshot",
)
# Every table a night builds and a re-run must leave unchanged (the snapshot is history).
REBUILT = tuple(name for name in CONTRACT_MARTS if name.startswith("marts.")) + (
    "marts.activity_by_event",
    "marts.activity_by_category",
    "marts.activity_by_user_category",
    "marts.segment_transitions_monthly",
)
LEADERBOARD_PLACES = 10


def load_library(url: str, folder: Path, nights: int, seed: int = 42) -> dict:
    """Simulate a small library, load ``nights`` days of exports; return the planted truth."""
    landing, truth = folder / "landing", folder / "truth.json"
    simulate(landing, truth, scale="small", first_day=FIRST_DAY, days=nights, seed=seed)
    for offset in range(nights):
        for source in SOURCES:
            ingest.ingest_source(source, FIRST_DAY + timedelta(days=offset), url, landing)
    return json.loads(truth.read_text())["patrons"]


def truth_by_user_key(truth: dict, key: bytes) -> dict[str, dict]:
    """The planted truth keyed like the marts (user_key instead of patron id)."""
    return {pseudonym.user_key(key, patron): record for patron, record in truth.items()}


@contextmanager
def separate_dbt_folders(folder: Path):
    """Point dbt's target and log folders into ``folder``, apart from any other dbt run."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBT_TARGET_PATH", str(folder / "target"))
        patch.setenv("DBT_LOG_PATH", str(folder / "logs"))
        yield folder


@pytest.fixture(scope="module")
def dbt_paths(tmp_path_factory):
    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")) as folder:
        yield folder


@pytest.fixture(scope="module")
def library(warehouse_url, tmp_path_factory, pseudonym_key, dbt_paths):
    """Three nightly loads and builds, as the DAG runs them."""
    truth = load_library(warehouse_url, tmp_path_factory.mktemp("library"), NIGHTS)
    for offset in range(NIGHTS):
        transform.build(FIRST_DAY + timedelta(days=offset), warehouse_url)
    return {"url": warehouse_url, "truth": truth_by_user_key(truth, pseudonym_key)}


def digest(url: str, tables: tuple[str, ...]) -> dict[str, tuple[int, str]]:
    """Row count and an order-independent checksum of each table's full contents."""
    with psycopg.connect(url) as conn:
        return {
            table: conn.execute(
                sql.SQL(
                    "select count(*), md5(coalesce(string_agg(t::text, '|' order by t::text), ''))"
                    " from {} as t"
                ).format(sql.Identifier(*table.split(".")))
            ).fetchone()
            for table in tables
        }


def rows(url: str, query: str, params: tuple = ()) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


def as_of(day: date) -> str:
    return json.dumps({"as_of": day.isoformat()})


def test_every_contract_mart_is_built_with_rows(library):
    counts = digest(library["url"], CONTRACT_MARTS)
    empty = [table for table, (count, _) in counts.items() if count == 0]
    assert not empty, f"empty marts: {empty}"
    users = rows(library["url"], "select count(*) from marts.dim_users")[0][0]
    assert counts["marts.user_profiles"][0] == users


def test_rerunning_the_last_night_changes_no_table(library):
    tables = (*REBUILT, "snapshots.user_segments_snapshot")
    before = digest(library["url"], tables)
    transform.build(LAST_DAY, library["url"])
    assert digest(library["url"], tables) == before


def test_nightly_incremental_builds_equal_a_full_rebuild(library):
    nightly = digest(library["url"], REBUILT)
    transform.run_dbt(["run", "--full-refresh", "--vars", as_of(LAST_DAY)], library["url"])
    assert digest(library["url"], REBUILT) == nightly


def test_a_segment_outside_the_vocabulary_fails_dbts_tests(library):
    """Labels are checked once, by dbt against the crm_vocabulary seed."""
    update = "update marts.user_profiles set value_segment = %s where user_key = %s"
    key, segment = rows(
        library["url"], "select user_key, value_segment from marts.user_profiles limit 1"
    )[0]
    with psycopg.connect(library["url"]) as conn:
        conn.execute(update, ("vip", key))
    try:
        with pytest.raises(
            transform.TransformError, match=r"in_vocabulary_user_profiles_value_segment"
        ):
            transform.run_dbt(
                ["test", "--select", "user_profiles", "--vars", as_of(LAST_DAY)], library["url"]
            )
    finally:
        with psycopg.connect(library["url"]) as conn:
            conn.execute(update, (segment, key))


def test_snapshot_dates_versions_by_night_and_counts_transitions(library):
    versions = rows(
        library["url"],
        "select dbt_valid_from::date, count(*) from snapshots.user_segments_snapshot group by 1",
    )
    nights = {FIRST_DAY + timedelta(days=offset) for offset in range(NIGHTS)}
    assert {day for day, _ in versions} <= nights
    first_night = dict(versions)[FIRST_DAY]
    registered = rows(
        library["url"],
        "select count(*) from marts.dim_users where registered_on <= %s",
        (FIRST_DAY,),
    )[0][0]
    assert first_night == registered
    changes = rows(
        library["url"],
        "select count(*) from snapshots.user_segments_snapshot where dbt_valid_to is not null",
    )[0][0]
    counted = rows(
        library["url"],
        "select coalesce(sum(transitions), 0) from marts.segment_transitions_monthly",
    )[0][0]
    assert changes > 0
    assert changes <= counted <= 2 * changes  # a version changes the segment, stage or both


def test_leaderboards_hold_ten_places_without_staff_or_opted_out_users(library):
    board = rows(
        library["url"],
        """
        select b.quarter, b.metric, b.rank, b.value, u.is_staff, u.opt_out
        from marts.leaderboard_quarterly as b
        inner join marts.dim_users as u on b.user_key = u.user_key
        order by b.quarter, b.metric, b.rank
        """,
    )
    boards = Counter((quarter, metric) for quarter, metric, *_ in board)
    assert {metric for _, metric in boards} == {"loans", "library_hours"}
    assert max(boards.values()) <= LEADERBOARD_PLACES
    assert not [row for row in board if row[4] or row[5]]
    for quarter, metric in boards:
        places = [(rank, value) for q, m, rank, value, *_ in board if (q, m) == (quarter, metric)]
        assert [value for _, value in places] == sorted((v for _, v in places), reverse=True)
        assert places[0][0] == 1
        assert all(
            (rank == previous_rank) == (value == previous_value)
            for (previous_rank, previous_value), (rank, value) in zip(
                places, places[1:], strict=False
            )
        )


def test_lifecycle_stages_recover_the_planted_archetypes(library):
    stages = rows(library["url"], "select user_key, lifecycle_stage from marts.user_profiles")
    by_archetype: dict[str, Counter] = {}
    for user_key, stage in stages:
        archetype = library["truth"][user_key]["archetype"]
        by_archetype.setdefault(archetype, Counter())[stage] += 1

    def share(archetype: str, *wanted: str) -> float:
        counts = by_archetype[archetype]
        return sum(counts[stage] for stage in wanted) / sum(counts.values())

    # Lifecycle timers count teaching days: a lapsing patron who stopped in the last weeks of
    # the autumn term or in the winter vacation has not been silent at_risk_after_days
    # teaching days two weeks into the spring term. Those who have must be flagged.
    teaching = dict(
        rows(
            library["url"],
            "select calendar_date, teaching_day_number from intermediate.int_calendar_days_counted",
        )
    )
    threshold = yaml.safe_load((config.dbt_project_dir() / "dbt_project.yml").read_text())["vars"][
        "at_risk_after_days"
    ]
    silent_long = Counter(
        stage
        for user_key, stage in stages
        if library["truth"][user_key]["archetype"] == "lapsing"
        and teaching[LAST_DAY]
        - teaching[date.fromisoformat(library["truth"][user_key]["stops_on"])]
        >= threshold
    )
    assert sum(silent_long.values()) > 20
    assert (silent_long["at_risk"] + silent_long["lapsed"]) / sum(silent_long.values()) >= 0.85
    assert share("new", "new") >= 0.8
    assert share("steady", "active") >= 0.9


def test_visits_say_which_rule_closed_them(library):
    closed = dict(
        rows(
            library["url"],
            "select closed_by, count(*) from marts.fct_visits group by closed_by",
        )
    )
    assert closed["exit"] > 0.9 * sum(closed.values())
    assert set(closed) <= {"exit", "next_entry", "closing_time", "dwell_cap"}
    inconsistent = rows(
        library["url"],
        """
        select count(*) from marts.fct_visits
        where exit_missing <> (closed_by <> 'exit') or exited_at < entered_at
        """,
    )[0][0]
    assert inconsistent == 0


def test_docs_describe_the_grain_and_every_column_of_each_mart(library, dbt_paths, monkeypatch):
    from dbt.cli.main import dbtRunner

    for name, value in transform.dbt_environment(library["url"]).items():
        monkeypatch.setenv(name, value)
    target = dbt_paths / "docs"
    folder = str(config.dbt_project_dir())
    project = ["--project-dir", folder, "--profiles-dir", folder]
    args = ["docs", "generate", "--vars", as_of(LAST_DAY), "--target-path", str(target)]
    outcome = dbtRunner().invoke([*args, *project])
    assert outcome.success, outcome.exception
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    marts = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] in ("model", "snapshot")
        and f"{node['schema']}.{node['name']}" in (*REBUILT, *CONTRACT_MARTS)
    ]
    assert len({node["unique_id"] for node in marts}) == len(set(REBUILT) | set(CONTRACT_MARTS))
    undescribed = []
    for node in marts:
        assert node["description"].startswith("One row per"), node["name"]
        built = catalog["nodes"][node["unique_id"]]["columns"]
        documented = {name for name, column in node["columns"].items() if column["description"]}
        undescribed += [
            f"{node['name']}.{name}"
            for name in built
            if name not in documented and not name.startswith("dbt_")
        ]
    assert not undescribed, f"columns without a description: {undescribed}"


def test_rerunning_an_earlier_night_equals_its_full_rebuild(library):
    earlier = LAST_DAY - timedelta(days=1)
    transform.run_dbt(["run", "--vars", as_of(earlier)], library["url"])
    rerun = digest(library["url"], REBUILT)
    transform.run_dbt(["run", "--full-refresh", "--vars", as_of(earlier)], library["url"])
    assert digest(library["url"], REBUILT) == rerun
    later_loans = rows(
        library["url"],
        "select count(*) from marts.fct_loans where checkout_date > %s",
        (earlier,),
    )[0][0]
    assert later_loans == 0
