"""The suites and the runner on a small hand-made library, against a real PostgreSQL: volume
bands learned from the load history, the initial export's history, warnings that let the run
go on, mart faults, missing contract tables, stored results and Data Docs."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from expectations import runner, suites
from libcrm import ingest

# The export headers, as the simulator writes them (tests/test_simulate.py checks them against
# docs/sources.md).
from libcrm.tooling.simulate.export import GATE_COLUMNS, ITEM_COLUMNS, LOAN_COLUMNS, PATRON_COLUMNS

INITIAL = date(2026, 3, 2)
DAYS = [INITIAL + timedelta(days=n) for n in range(5)]  # the initial export, then 4 nights
SPIKE_DAY = INITIAL + timedelta(days=5)
PASSAGES_PER_DAY = 40
PATRONS = 20


def _write(path: Path, header: list[str], rows: list[list[object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _patron(n: int) -> list[object]:
    return [
        f"P{n:04d}",
        f"C{n:04d}",
        f"Reader {n}",
        f"reader{n}@example.edu",
        "2001-01-01",
        "undergraduate",
        "History",
        2022,
        "2022-09-01",
        "2026-07-01",
        "false",
    ]


def _passages(day: date, count: int) -> list[list[object]]:
    opening = datetime.combine(day, datetime.min.time()) + timedelta(hours=8)
    return [
        [f"C{n % PATRONS:04d}", _stamp(opening + timedelta(minutes=n)), "in" if n % 2 else "out"]
        + ["G1"]
        for n in range(count)
    ]


def _export_day(landing: Path, day: date, passages: list[list[object]]) -> None:
    ils, gate = landing / "ils" / day.isoformat(), landing / "gate" / day.isoformat()
    noon = datetime.combine(day, datetime.min.time()) + timedelta(hours=12)
    if day == INITIAL:
        _write(ils / "patrons.csv", PATRON_COLUMNS, [_patron(n) for n in range(PATRONS)])
        items = [
            [f"I{n:04d}", "", f"Book {n}", "", "", "I", "book", "available", "2020-01-01"]
            for n in range(10)
        ]
        _write(ils / "items.csv", ITEM_COLUMNS, items)
        # The initial export holds history: loans from last year are expected, not late.
        history = datetime(2025, 10, 1, 10)
        loans = [
            [f"L{n:04d}", f"P{n % PATRONS:04d}", f"I{n % 10:04d}", _stamp(history), "", ""]
            for n in range(30)
        ]
    else:
        loans = [
            [f"L{day.day:02d}{n:02d}", f"P{n:04d}", f"I{n % 10:04d}", _stamp(noon), "", ""]
            for n in range(8)
        ]
    _write(ils / "loans.csv", LOAN_COLUMNS, loans)
    _write(gate / "gate_log.csv", GATE_COLUMNS, passages)


def _ingest(url: str, landing: Path, day: date) -> None:
    for source in ("ils", "gate"):
        ingest.ingest_source(source, day, url, landing)


@pytest.fixture(scope="module")
def library(warehouse_url, tmp_path_factory):
    """An initial export with a year of history, then four ordinary nights."""
    landing = tmp_path_factory.mktemp("landing")
    history = _passages(INITIAL - timedelta(days=30), PASSAGES_PER_DAY)
    for day in DAYS:
        today = _passages(day, PASSAGES_PER_DAY)
        _export_day(landing, day, history + today if day == INITIAL else today)
        _ingest(warehouse_url, landing, day)
    return {"url": warehouse_url, "landing": landing}


@pytest.fixture(autouse=True)
def docs_dir(tmp_path_factory, monkeypatch):
    folder = tmp_path_factory.getbasetemp() / "data_docs"
    monkeypatch.setenv("LIBCRM_DATA_DOCS_DIR", str(folder))
    return folder


def _raw(url: str, day: date, run_id: str) -> runner.Outcome:
    return runner.validate("raw", suites.raw_suites(day, url), day, run_id, url)


def _find(outcome: runner.Outcome, suite: str, expectation: str, severity: str) -> list[dict]:
    return [
        r
        for r in outcome.results
        if r["suite"] == suite and r["expectation"] == expectation and r["severity"] == severity
    ]


def test_an_ordinary_night_passes_with_a_learned_volume_band(library):
    outcome = _raw(library["url"], DAYS[4], "night-4")
    assert outcome.critical_failures == [] and outcome.warnings == []
    [band] = _find(outcome, "raw_gate_passages", "expect_table_row_count_to_be_between", "warning")
    assert band["note"].startswith("band [3, 130] from the median 40 of the last 3 incremental")
    assert outcome.summary()["failed_critical"] == 0


def test_too_little_history_skips_the_band_and_says_so(library):
    outcome = _raw(library["url"], DAYS[2], "night-2")
    [band] = _find(outcome, "raw_loans", "expect_table_row_count_to_be_between", "warning")
    assert band["success"]
    assert band["note"] == "band skipped: 1 earlier incremental day(s), 3 needed"


def test_the_initial_export_may_hold_history_but_not_the_future(library):
    outcome = _raw(library["url"], INITIAL, "initial")
    assert outcome.critical_failures == [] and outcome.warnings == []
    passed_at = [r for r in outcome.results if r["column"] == "passed_at"]
    assert [r["severity"] for r in passed_at] == ["critical"]  # only "not after the day"
    [band] = _find(outcome, "raw_gate_passages", "expect_table_row_count_to_be_between", "warning")
    assert band["note"] == "initial export (whole history): band skipped"


def test_a_spike_and_late_rows_are_warnings_and_the_run_goes_on(library):
    late = _passages(SPIKE_DAY - timedelta(days=1), 1)
    _export_day(library["landing"], SPIKE_DAY, late + _passages(SPIKE_DAY, 10 * PASSAGES_PER_DAY))
    _ingest(library["url"], library["landing"], SPIKE_DAY)
    outcome = _raw(library["url"], SPIKE_DAY, "spike")
    assert outcome.critical_failures == []
    failed = {(r["suite"], r["expectation"], r["column"]) for r in outcome.warnings}
    assert failed == {
        ("raw_gate_passages", "expect_table_row_count_to_be_between", None),
        ("raw_gate_passages", "expect_column_values_to_be_between", "passed_at"),
    }
    assert any("band [3, 130]" in line for line in outcome.summary()["warnings"])


def test_a_passage_whose_card_has_no_holder_for_its_batch_is_critical(library):
    """Staging would drop such passages: the card map must cover every card of the day."""
    card = "update identity.cards set to_batch = {} where barcode = 'C0003'"
    with psycopg.connect(library["url"], autocommit=True) as conn:
        conn.execute(card.format("from_batch + 1"))
        try:
            outcome = _raw(library["url"], DAYS[4], "lost-holder")
        finally:
            conn.execute(card.format("null"))
    [failed] = outcome.critical_failures
    assert (failed["suite"], failed["column"], failed["unexpected_count"]) == (
        "raw_gate_cards",
        "user_key",
        1,
    )


def test_results_are_kept_for_trend_queries(library):
    _raw(library["url"], DAYS[3], "night-3")
    with psycopg.connect(library["url"]) as conn:
        rows = conn.execute(
            "select stage, element_count, unexpected_count, unexpected_percent, severity "
            "from quality.validation_results where run_id = 'night-3' "
            "and suite = 'raw_gate_passages' and column_name = 'passed_at' "
            "and severity = 'critical'"
        ).fetchall()
    assert rows == [("raw", PASSAGES_PER_DAY, 0, 0.0, "critical")]


# Checks dbt makes on every build (keys, labels): a suite repeating one states a rule twice.
DBT_CHECKS = {
    "ExpectColumnValuesToBeUnique",
    "ExpectColumnValuesToNotBeNull",
    "ExpectColumnValuesToBeInSet",
    "ExpectCompoundColumnsToBeUnique",
}


def test_mart_suites_leave_keys_and_labels_to_dbt():
    repeated = [
        (suite.name, type(expectation).__name__, getattr(expectation, "column", None))
        for suite in suites.mart_suites()
        for expectation in suite.expectations
        if type(expectation).__name__ in DBT_CHECKS
    ]
    assert repeated == []


def test_raw_suites_leave_labels_to_dbt(library):
    repeated = [
        (suite.name, expectation.column)
        for suite in suites.raw_suites(DAYS[4], library["url"])
        for expectation in suite.expectations
        if type(expectation).__name__ == "ExpectColumnValuesToBeInSet"
    ]
    assert repeated == []


@pytest.fixture
def marts(library):
    """Hand-made contract marts: a profile with an unknown segment (dbt's to catch, not these
    suites'), an overfull leaderboard, a mart carrying an e-mail column; no opinion_leaders
    yet."""
    with psycopg.connect(library["url"]) as conn:
        conn.execute(
            """
            create table marts.user_profiles as
            select * from (values
                ('k1', 'long_term', 'active', 80),
                ('k2', 'growth', 'new', 40),
                ('k3', 'vip', 'active', 95)
            ) as t (user_key, value_segment, lifecycle_stage, loyalty_score);
            create table marts.leaderboard_quarterly as
            select '2026-Q1' as quarter, 'loans' as metric, n as rank, 'k' || n as user_key,
                100 - n as value
            from generate_series(1, 11) as n;
            create table marts.dim_users as select 'k1' as user_key, 'a@b.c' as email;
            """
        )
    yield library["url"]
    with psycopg.connect(library["url"]) as conn:
        conn.execute("drop table marts.user_profiles, marts.leaderboard_quarterly, marts.dim_users")


def test_mart_faults_are_critical_and_name_what_failed(marts):
    outcome = runner.validate("marts", suites.mart_suites(), DAYS[4], "marts", marts)
    critical = {(r["suite"], r["column"]): r for r in outcome.critical_failures}
    assert set(critical) == {
        ("marts_leaderboard_quarterly", None),
        ("marts_pii_columns", None),
    }
    assert "2026-Q1" in critical[("marts_leaderboard_quarterly", None)]["observed_value"]
    assert "dim_users" in critical[("marts_pii_columns", None)]["observed_value"]
    assert "email" in critical[("marts_pii_columns", None)]["observed_value"]


def test_a_contract_mart_not_built_yet_is_a_warning_not_a_crash(marts):
    outcome = runner.validate("marts", suites.mart_suites(), DAYS[4], "marts", marts)
    missing = {r["suite"]: r["observed_value"] for r in outcome.warnings}
    assert missing["marts_opinion_leaders"] == '"table missing: marts.opinion_leaders"'
    assert missing["marts_fct_visits"] == '"table missing: marts.fct_visits"'


def test_data_docs_index_links_both_stages(library, marts, docs_dir):
    _raw(library["url"], DAYS[4], "docs")
    runner.validate("marts", suites.mart_suites(), DAYS[4], "docs", marts)
    index = (docs_dir / "index.html").read_text()
    assert "raw_gate_passages" in index and "marts_user_profiles" in index
    assert list((docs_dir / "validations" / "raw_loans").rglob("*.html"))
