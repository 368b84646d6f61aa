"""An opt-out in the ILS is honoured by the next nightly run: no personalised rows, no place on
leaderboards or among opinion leaders."""

from __future__ import annotations

import csv
from datetime import date

import psycopg
import pytest

from libcrm import pipeline
from libcrm.tooling.simulate import simulate

FIRST_DAY = date(2026, 3, 16)
NEXT_DAY = date(2026, 3, 17)


def _night(day: date) -> None:
    for source in pipeline.SOURCES:
        pipeline.ingest_source(source, day)
    pipeline.validate("raw", day, f"opt-out-{day}")
    pipeline.build_marts(day)
    pipeline.validate("marts", day, f"opt-out-{day}")
    pipeline.recommend(day, f"opt-out-{day}")


def _presence(url: str, patron_id: str) -> dict[str, bool]:
    with psycopg.connect(url) as conn:
        key = conn.execute(
            "select user_key from identity.patron_keys where patron_id = %s", [patron_id]
        ).fetchone()[0]
        checks = {
            "resources": ("portal.resource_recommendations", "patron_id", patron_id),
            "activities": ("portal.activity_recommendations", "patron_id", patron_id),
            "leaderboards": ("marts.leaderboard_quarterly", "user_key", key),
            "opinion_leaders": ("marts.opinion_leaders", "user_key", key),
        }
        return {
            name: conn.execute(
                f"select exists (select 1 from {table} where {column} = %s)",  # noqa: S608
                [value],
            ).fetchone()[0]
            for name, (table, column, value) in checks.items()
        }


@pytest.fixture(scope="module")
def opted_out(warehouse_url, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    simulate(landing, landing.parent / "truth.json", scale="small", first_day=FIRST_DAY, days=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
        patch.setenv("LIBCRM_LANDING_DIR", str(landing))
        _night(FIRST_DAY)
        with psycopg.connect(warehouse_url) as conn:
            patron_id = conn.execute(
                """
                select k.patron_id from marts.opinion_leaders o
                join identity.patron_keys k using (user_key)
                join marts.leaderboard_quarterly b using (user_key)
                order by o.rank limit 1
                """
            ).fetchone()[0]
        before = _presence(warehouse_url, patron_id)
        # The next ILS export says the patron now refuses personalisation.
        exports = landing / "ils"
        with (exports / FIRST_DAY.isoformat() / "patrons.csv").open(newline="") as handle:
            row = next(r for r in csv.DictReader(handle) if r["patron_id"] == patron_id)
        patrons = exports / NEXT_DAY.isoformat() / "patrons.csv"
        with patrons.open(newline="") as handle:
            reader = csv.DictReader(handle)
            fields, rows = reader.fieldnames, [r for r in reader if r["patron_id"] != patron_id]
        rows.append({**row, "opt_out": "true"})
        with patrons.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            writer.writerows(rows)
        _night(NEXT_DAY)
    return before, _presence(warehouse_url, patron_id)


def test_patron_was_everywhere_before_opting_out(opted_out):
    before, _ = opted_out
    assert before == {
        "resources": True,
        "activities": True,
        "leaderboards": True,
        "opinion_leaders": True,
    }


def test_next_run_leaves_the_patron_out_everywhere(opted_out):
    _, after = opted_out
    assert after == {
        "resources": False,
        "activities": False,
        "leaderboards": False,
        "opinion_leaders": False,
    }
