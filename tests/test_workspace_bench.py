"""``bench-workspace`` measures every page, the page of an audience of most readers among them:
run for one round on the small simulated library, the workspace served as its own process."""

from __future__ import annotations

import psycopg
import pytest
from psycopg import sql

from libcrm.tooling import bench_report, bench_workspace


@pytest.fixture(scope="module")
def measured(library_warehouse):
    url = library_warehouse["url"]
    result = bench_workspace.measure(url, rounds=1)
    yield result
    with psycopg.connect(url) as conn:  # the shared warehouse as it was
        audience_id = int(result["audience"]["page"].rsplit("/", 1)[1])
        for table in ("audience_counts", "audience_members", "audiences"):
            conn.execute(
                sql.SQL("delete from {} where audience_id = %s").format(
                    sql.Identifier("workspace", table)
                ),
                [audience_id],
            )


def test_the_audience_page_of_most_readers_is_measured_and_answers(measured):
    page = measured["audience"]["page"]
    pages = measured["pages"]
    assert page in pages and f"{page}?department=" in " ".join(pages)
    assert {times["status"] for times in pages.values()} == {200}
    assert all(f"{path}?department=" in " ".join(pages) for path in bench_workspace.PAGES)


def test_the_audience_is_saved_by_the_builder_over_most_readers_and_archived(
    measured, library_warehouse
):
    audience_id = int(measured["audience"]["page"].rsplit("/", 1)[1])
    with psycopg.connect(library_warehouse["url"]) as conn:
        created_by, archived = conn.execute(
            "select created_by, archived from workspace.audiences where audience_id = %s",
            [audience_id],
        ).fetchone()
        readers, not_dormant = conn.execute(
            "select count(*), count(*) filter (where p.persona is distinct from 'dormant')"
            " from marts.user_profiles as p join marts.dim_users as u using (user_key)"
            " where not p.opt_out and not u.opt_out"
        ).fetchone()
    assert created_by == bench_workspace.BENCH_ACCOUNT and archived
    members = measured["audience"]["members"]
    assert members == not_dormant and members > readers / 2


def test_the_report_names_the_audience_page_without_its_number(measured):
    result = {
        **measured,
        "scale": "small",
        "patrons": 400,
        "rounds": 1,
        "goal_p95_ms": bench_workspace.GOAL_P95_MS,
        "machine": {"cpus": 2, "platform": "test", "python": "3"},
        "measured_at": "now",
        "load_average_at_end": [0.0],
    }
    section = bench_report.workspace_section(result)
    assert "| `/audiences/<the benchmark's audience>` | 200 |" in section
    assert f"{measured['audience']['members']:,} members" in section
