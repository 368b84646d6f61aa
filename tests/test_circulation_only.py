"""A library with circulation data only (no gate, no events) is a first-class setup: its night
is clean from the landing folder to the marts the workspace reads, with warnings, no failures.

The library is the worked example's (tests/data/mapped/, GB18030 exports with Chinese headers),
its ILS exports only; its mapping adds the material type ``ebook``, which dbt's vocabulary tests
accept because the pipeline passes the mapping's additions to the build.
"""

from __future__ import annotations

import shutil
from datetime import date

import psycopg
import pytest

from libcrm import pipeline
from tests.conftest import DATA

DAY = date(2026, 3, 16)


@pytest.fixture(scope="module")
def night(warehouse_url, tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    shutil.copytree(DATA / "mapped" / "ils", landing / "ils")  # no gate/, no events/ at all
    dbt = tmp_path_factory.mktemp("dbt")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
        patch.setenv("LIBCRM_LANDING_DIR", str(landing))
        patch.setenv("LIBCRM_EXPORT_MAPPING", str(DATA / "mapped" / "mapping.yml"))
        patch.setenv("LIBCRM_REQUIRED_SOURCES", "ils")
        patch.setenv("LIBCRM_DATA_DOCS_DIR", str(tmp_path_factory.mktemp("data_docs")))
        patch.setenv("DBT_TARGET_PATH", str(dbt / "target"))
        patch.setenv("DBT_LOG_PATH", str(dbt / "logs"))
        ingested = {source: pipeline.ingest_source(source, DAY) for source in pipeline.SOURCES}
        raw = pipeline.validate("raw", DAY, "circulation-only")
        built = pipeline.build_marts(DAY)
        marts = pipeline.validate("marts", DAY, "circulation-only")
    return {"ingested": ingested, "raw": raw, "built": built, "marts": marts}


def _count(url: str, table: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]  # noqa: S608


def test_the_missing_gate_and_event_sources_are_warnings_not_failures(night):
    ingested = night["ingested"]
    assert ingested["ils"]["rows_loaded"] == 9 and ingested["ils"]["rows_quarantined"] == 0
    for source in ("gate", "events"):
        assert ingested[source]["files"] == 0
        [warning] = ingested[source]["warnings"]
        assert warning.startswith(f"{source}: no export for {DAY}")


def test_the_marts_the_workspace_reads_are_built_from_circulation_alone(night, warehouse_url):
    assert night["built"]["nodes"] > 0
    assert _count(warehouse_url, "marts.dim_users") == 3
    assert _count(warehouse_url, "marts.fct_loans") == 3
    assert _count(warehouse_url, "marts.user_profiles") == 3
    assert _count(warehouse_url, "marts.fct_visits") == 0
    assert _count(warehouse_url, "marts.fct_event_attendance") == 0
    with psycopg.connect(warehouse_url) as conn:
        types = conn.execute("select material_type from marts.dim_items order by 1").fetchall()
    assert types == [("book",), ("book",), ("ebook",)]  # the library's own code, accepted
