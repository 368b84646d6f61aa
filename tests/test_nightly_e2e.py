"""library_nightly run by Airflow (`airflow dags test`) on a simulated library, against a
throw-away PostgreSQL database."""

from __future__ import annotations

import json
import os
from datetime import date
from pathlib import Path

import psycopg
import pytest

from libcrm.tooling import runtime
from libcrm.tooling.simulate import simulate
from tests.conftest import SESSION_DIR

pytestmark = pytest.mark.e2e
FIRST_DAY = date(2026, 3, 16)


@pytest.fixture(scope="module")
def nightly(warehouse_url, tmp_path_factory):
    """Simulate two days of exports, migrate Airflow, and run the DAG for the first day."""
    landing = tmp_path_factory.mktemp("landing")
    simulate(landing, landing.parent / "truth.json", scale="small", first_day=FIRST_DAY, days=2)
    env = runtime.pipeline_environment(warehouse_url, landing, None)
    env["AIRFLOW_HOME"] = os.environ["AIRFLOW_HOME"]
    logs = SESSION_DIR / "logs"
    assert runtime.airflow(["db", "migrate"], env, logs / "migrate.log").returncode == 0

    def run_day(day: date):
        log = logs / f"dags-test-{day}.log"
        done = runtime.airflow(["dags", "test", "library_nightly", day.isoformat()], env, log)
        return done.returncode, log.read_text()

    code, log = run_day(FIRST_DAY)
    assert code == 0, log[-3000:]
    return {"run": run_day, "landing": landing, "url": warehouse_url}


def _portal(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select patron_id, rank, item_id, score, reason, generated_for, model_version "
            "from portal.resource_recommendations order by patron_id, rank"
        ).fetchall()


def test_the_night_is_announced_by_the_portal_publication_asset(nightly):
    import sqlite3

    metadata = Path(os.environ["AIRFLOW_HOME"]) / "airflow.db"
    with sqlite3.connect(metadata) as airflow:
        extras = [
            json.loads(extra)
            for (extra,) in airflow.execute(
                "select event.extra from asset_event as event"
                " inner join asset on event.asset_id = asset.id"
                " where asset.name = 'portal_publication'"
            )
        ]
    with psycopg.connect(nightly["url"]) as conn:
        published_at, version = conn.execute(
            "select published_at, model_version from portal.publication where generated_for = %s",
            [FIRST_DAY],
        ).fetchone()
    announced = [e for e in extras if e["generated_for"] == FIRST_DAY.isoformat()]
    assert announced and announced[0]["published"] is True
    assert announced[0]["published_at"] == published_at.isoformat()
    assert announced[0]["model_version"] == version


def test_most_patrons_get_recommendations_for_known_patrons(nightly):
    with psycopg.connect(nightly["url"]) as conn:
        patrons = {r[0] for r in conn.execute("select patron_id from identity.patron_keys")}
        opted_out = {r[0] for r in conn.execute("select patron_id from raw.patrons where opt_out")}
    rows = _portal(nightly["url"])
    served = {row[0] for row in rows}
    assert served <= patrons
    assert not served & opted_out
    assert len(served) >= 0.8 * len(patrons)
    assert {row[5] for row in rows} == {FIRST_DAY}


def test_ranks_run_from_one_without_gaps(nightly):
    ranks: dict[str, list[int]] = {}
    for patron, rank, *_ in _portal(nightly["url"]):
        ranks.setdefault(patron, []).append(rank)
    assert all(found == list(range(1, len(found) + 1)) for found in ranks.values())
    assert max(len(found) for found in ranks.values()) == 10


def test_nothing_already_borrowed_or_unlendable_is_recommended(nightly):
    with psycopg.connect(nightly["url"]) as conn:
        clashes = conn.execute(
            """
            select count(*) from portal.resource_recommendations r
            join raw.loans l on l.patron_id = r.patron_id and l.item_id = r.item_id
            """
        ).fetchone()[0]
        unlendable = conn.execute(
            """
            select count(*) from portal.resource_recommendations r
            join marts.dim_items i on i.item_id = r.item_id
            where i.material_type <> 'book' or i.status in ('lost', 'withdrawn', 'not_for_loan')
            """
        ).fetchone()[0]
    assert clashes == 0
    assert unlendable == 0


def test_run_records_quality_and_model_metrics(nightly):
    with psycopg.connect(nightly["url"]) as conn:
        suites = {
            r[0] for r in conn.execute("select distinct suite from quality.validation_results")
        }
        models = {
            model: (ndcg, published)
            for model, ndcg, published in conn.execute(
                "select model, ndcg_at_10, published from quality.recommender_evaluations "
                "where data_date = %s",
                [FIRST_DAY],
            ).fetchall()
        }
    assert {"raw_loans", "raw_gate_passages", "marts_user_profiles"} <= suites
    assert "popularity" in models and len(models) > 2  # every candidate of the first selection
    [chosen] = [model for model, (_, published) in models.items() if published]
    assert models[chosen][0] >= models["popularity"][0]


def test_critical_raw_failure_stops_the_run_and_keeps_the_portal(nightly):
    before = _portal(nightly["url"])
    loans = nightly["landing"] / "ils" / "2026-03-17" / "loans.csv"
    loans.write_text(
        loans.read_text() + "L-FUTURE,P000001,I0000001,2026-04-01 10:00:00,2026-05-01 10:00:00,\n"
    )
    code, log = nightly["run"](date(2026, 3, 17))
    assert code != 0 or "state=failed" in log
    assert "end task task_id=recommend" not in log
    assert _portal(nightly["url"]) == before
    with psycopg.connect(nightly["url"]) as conn:
        failed = conn.execute(
            "select suite, column_name, severity from quality.validation_results "
            "where data_date = '2026-03-17' and not success"
        ).fetchall()
    assert ("raw_loans", "checkout_at", "critical") in failed


PII_COLUMNS = {
    "name",
    "first_name",
    "last_name",
    "email",
    "phone",
    "address",
    "birth_date",
    "barcode",
    "card_number",
    "patron_id",
    "id_number",
}


def test_no_model_past_the_raw_layer_has_a_pii_column(nightly):
    with psycopg.connect(nightly["url"]) as conn:
        columns = conn.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where table_schema in ('staging', 'intermediate', 'marts', 'snapshots')"
        ).fetchall()
    assert {table for _, table, _ in columns} >= {"user_profiles", "fct_loans", "stg_ils__patrons"}
    leaks = [(s, t, c) for s, t, c in columns if c in PII_COLUMNS]
    assert leaks == []


def test_right_of_access_export_finds_the_patrons_rows(nightly, monkeypatch):
    from libcrm.cli import main

    with psycopg.connect(nightly["url"]) as conn:
        patron = conn.execute(
            "select patron_id from raw.loans group by patron_id order by count(*) desc limit 1"
        ).fetchone()[0]
        loans = {
            r[0]
            for r in conn.execute("select loan_id from raw.loans where patron_id = %s", [patron])
        }
    out = SESSION_DIR / "access.json"
    monkeypatch.setenv("LIBCRM_DATABASE_URL", nightly["url"])
    assert main(["access", "--patron-id", patron, "--out", str(out)]) == 0
    export = json.loads(out.read_text())
    assert export["patron_id"] == patron
    assert {row["patron_id"] for row in export["tables"]["raw.patrons"]} == {patron}
    assert {row["loan_id"] for row in export["tables"]["raw.loans"]} == loans
    assert {row["loan_id"] for row in export["tables"]["marts.fct_loans"]} <= loans
    assert export["tables"]["marts.user_profiles"][0]["user_key"] == export["user_key"]
    assert oct(out.stat().st_mode)[-3:] == "600"


def test_run_report_renders_its_figures_without_personal_data(nightly):
    index = SESSION_DIR / "reports" / FIRST_DAY.isoformat() / "index.html"
    page = index.read_text()
    for figure in ("segments.png", "lifecycle.png", "attendance.png", "recommendations.png"):
        assert f"src='{figure}'" in page
        assert (index.parent / figure).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for section in ("Segments and lifecycle", "leaderboards", "Opinion leaders", "Data quality"):
        assert section in page
    with psycopg.connect(nightly["url"]) as conn:
        people = conn.execute("select patron_id, barcode, name, email from raw.patrons").fetchall()
        leader = conn.execute(
            "select user_key from marts.opinion_leaders where rank = 1"
        ).fetchone()
    assert leader is None or leader[0] in page
    for patron_id, barcode, name, email in people:
        assert patron_id not in page and barcode not in page
        assert (name or "\x00") not in page and (email or "\x00") not in page
