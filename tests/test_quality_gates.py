"""The gates in the nightly chain: each injected fault fails the right expectation with the right
severity, ``pipeline.validate`` raises, nothing is published and the portal keeps the previous
night's recommendations; a clean night then publishes."""

from __future__ import annotations

import shutil
from datetime import date, timedelta

import psycopg
import pytest

from expectations.runner import CriticalValidationError
from libcrm import config, pipeline, transform
from libcrm.tooling.simulate import simulate

FIRST_DAY = date(2026, 3, 16)
NEXT_DAY = FIRST_DAY + timedelta(days=1)


def _night(day: date, run_id: str) -> dict:
    """The DAG's stages in order; an exception stops the chain as a failed task does."""
    for source in pipeline.SOURCES:
        pipeline.ingest_source(source, day)
    pipeline.validate("raw", day, run_id)
    pipeline.build_marts(day)
    pipeline.validate("marts", day, run_id)
    return pipeline.recommend(day, run_id)


@pytest.fixture(scope="module")
def library(warehouse_url, tmp_path_factory):
    """A small simulated library whose first night ran and published recommendations."""
    landing = tmp_path_factory.mktemp("landing")
    simulate(landing, landing.parent / "truth.json", scale="small", first_day=FIRST_DAY, days=2)
    originals = tmp_path_factory.mktemp("originals")
    shutil.copytree(landing / "ils" / NEXT_DAY.isoformat(), originals / "ils")
    shutil.copytree(landing / "gate" / NEXT_DAY.isoformat(), originals / "gate")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
        patch.setenv("LIBCRM_LANDING_DIR", str(landing))
        patch.setenv("LIBCRM_DATA_DOCS_DIR", str(tmp_path_factory.mktemp("data_docs")))
        _night(FIRST_DAY, "night-1")
        yield {"url": warehouse_url, "landing": landing, "originals": originals}


@pytest.fixture
def next_day(library):
    """The second night's export folders; restored afterwards (a re-delivered file replaces
    the batch loaded from the faulty one)."""
    folders = {
        source: library["landing"] / source / NEXT_DAY.isoformat() for source in ("ils", "gate")
    }
    yield folders
    for source, folder in folders.items():
        shutil.copytree(library["originals"] / source, folder, dirs_exist_ok=True)


def _portal(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select patron_id, rank, item_id, score, reason, generated_for, model_version "
            "from portal.resource_recommendations order by patron_id, rank"
        ).fetchall()


def _failed(url: str, run_id: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select suite, expectation, column_name, severity, description, observed_value "
            "from quality.validation_results where run_id = %s and not success "
            "and severity = 'critical' order by suite, expectation",
            [run_id],
        ).fetchall()


def _stopped(library: dict, run_id: str) -> list[tuple]:
    """Run the night, check it stopped at a gate with the portal untouched; return criticals."""
    before = _portal(library["url"])
    assert {row[5] for row in before} == {FIRST_DAY}
    with pytest.raises(CriticalValidationError, match="portal keeps its previous tables"):
        _night(NEXT_DAY, run_id)
    assert _portal(library["url"]) == before
    return _failed(library["url"], run_id)


def test_an_empty_gate_file_stops_the_night(library, next_day):
    log = next_day["gate"] / "gate_log.csv"
    log.write_text(log.read_text().splitlines()[0] + "\n")
    failed = _stopped(library, "empty-gate")
    assert [(f[0], f[1], f[3]) for f in failed] == [
        ("raw_gate_passages", "expect_table_row_count_to_be_between", "critical")
    ]
    assert failed[0][5] == "0"


def test_a_duplicated_patron_file_stops_the_night(library, next_day):
    patrons = next_day["ils"] / "patrons.csv"
    header, *rows = patrons.read_text().splitlines()
    patrons.write_text("\n".join([header, *rows, *rows]) + "\n")
    failed = _stopped(library, "duplicated-patrons")
    duplicates = [f for f in failed if f[4].startswith("no file repeats a record key")]
    assert [(f[0], f[3]) for f in duplicates] == [("raw_load_audit", "critical")]
    assert "ils/2026-03-17/patrons.csv" in duplicates[0][5]


def test_loans_in_the_future_stop_the_night(library, next_day):
    loans = next_day["ils"] / "loans.csv"
    future = "L-FUTURE,P000001,I0000001,2026-04-01 10:00:00,2026-05-01 10:00:00,\n"
    loans.write_text(loans.read_text() + future)
    failed = _stopped(library, "future-loans")
    assert [(f[0], f[2], f[3]) for f in failed] == [("raw_loans", "checkout_at", "critical")]
    assert "2026-04-01 10:00:00" in failed[0][5]


def test_an_unknown_segment_label_stops_the_night_before_publishing(
    library, next_day, tmp_path, monkeypatch
):
    """dbt checks labels against its vocabulary seed: a segment the seed does not list fails
    the build, so the marts are never validated or published."""
    project = tmp_path / "dbt_project"
    checkout = config.dbt_project_dir()
    shutil.copytree(checkout, project, ignore=shutil.ignore_patterns("target", "logs"))
    seed = project / "seeds" / "crm_vocabulary.csv"
    kept = [line for line in seed.read_text().splitlines() if not line.startswith("value_segment,")]
    seed.write_text("\n".join(kept) + "\n")
    monkeypatch.setenv("LIBCRM_DBT_PROJECT_DIR", str(project))
    before = _portal(library["url"])
    with pytest.raises(transform.TransformError, match=r"in_vocabulary_\w*value_segment"):
        _night(NEXT_DAY, "unknown-segment")
    assert _portal(library["url"]) == before


def test_a_clean_night_passes_both_gates_and_publishes(library, next_day):
    published = _night(NEXT_DAY, "clean")
    assert published["rows_published"] > 0
    assert {row[5] for row in _portal(library["url"])} == {NEXT_DAY}
    assert _failed(library["url"], "clean") == []
