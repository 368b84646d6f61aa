"""The DAG's ingest_ils task reads the ILS from a FOLIO-like API on loopback when configured
to (LIBCRM_ILS_SOURCE=api), through a failing page, a 429 with Retry-After and an expired
token, and what it loads reconciles with raw.load_audit."""

from __future__ import annotations

import psycopg
import pytest

from libcrm.tooling import runtime
from tests.test_ils_api import FIRST, HOLDS_PATH, PASSWORD, RETRY, exports, server  # noqa: F401

pytestmark = pytest.mark.e2e
TABLES = ("patrons", "items", "loans", "holds", "purchase_requests")


def test_ingest_ils_reads_the_folio_api_through_faults_into_raw(
    server,  # noqa: F811
    fresh_warehouse_url,
    tmp_path,
):
    library, url = server
    library.as_of(FIRST)
    library.tenant, library.accounts = "diku", {"libcrm": PASSWORD}
    library.faults = {
        ("/users", 0): ["fail"],
        ("/inventory/items", 0): ["expire"],
        (HOLDS_PATH, 0): ["busy"],
    }
    env = runtime.pipeline_environment(fresh_warehouse_url, tmp_path / "landing", None)
    env |= {
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "LIBCRM_ILS_SOURCE": "api",
        "LIBCRM_ILS_API_URL": url,
        "LIBCRM_ILS_TENANT": "diku",
        "LIBCRM_ILS_USERNAME": "libcrm",
        "LIBCRM_ILS_PASSWORD": PASSWORD,
    }
    assert runtime.airflow(["db", "migrate"], env, tmp_path / "migrate.log").returncode == 0
    log = tmp_path / "ingest.log"
    done = runtime.airflow(["tasks", "test", "library_nightly", "ingest_ils", str(FIRST)], env, log)
    assert done.returncode == 0, log.read_text()[-4000:]

    assert library.requests.count(("/users", 0)) == 2  # failed, then retried
    assert library.logins == 2  # at the start, and again once the token had expired
    holds = [moment for path, offset, moment in library.times if (path, offset) == (HOLDS_PATH, 0)]
    assert len(holds) == 2 and holds[1] - holds[0] >= float(RETRY)  # waited as asked
    with psycopg.connect(fresh_warehouse_url) as conn:
        audit = dict(
            (entity, (read, loaded, quarantined))
            for entity, read, loaded, quarantined in conn.execute(
                "select entity, rows_read, rows_loaded, rows_quarantined from raw.load_audit "
                "where source = 'ils' and data_date = %s and status = 'loaded'",
                [FIRST],
            )
        )
        assert sorted(audit) == sorted(TABLES)
        for table in TABLES:
            (in_raw,) = conn.execute(
                f"select count(*) from raw.{table} r join raw.load_audit a using (batch_id) "  # noqa: S608
                "where a.entity = %s and a.data_date = %s",
                [table, FIRST],
            ).fetchone()
            read, loaded, quarantined = audit[table]
            assert read == loaded + quarantined and in_raw == loaded > 0, table
    kinds = {"patrons": "users", "items": "items", "loans": "loans", "holds": "requests"}
    for table, kind in kinds.items():
        assert audit[table][0] == len(library.records[kind]), table
