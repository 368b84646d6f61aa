"""Every DAG file imports cleanly, and library_nightly has the contract's shape."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from libcrm.pipeline import run_day

DAGS = Path(__file__).resolve().parent.parent / "dags"


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(DAGS))


def test_every_dag_file_imports(dagbag):
    assert dagbag.import_errors == {}
    assert len(dagbag.dags) >= 1


def test_every_task_has_retries_timeout_and_docs_and_every_dag_tags(dagbag):
    for dag in dagbag.dags.values():
        assert dag.tags, dag.dag_id
        for task in dag.tasks:
            assert task.retries >= 1, f"{dag.dag_id}.{task.task_id}"
            assert task.execution_timeout is not None, f"{dag.dag_id}.{task.task_id}"
            assert task.doc_md, f"{dag.dag_id}.{task.task_id} has no documentation for the UI"


def test_library_nightly_runs_the_stages_in_contract_order(dagbag):
    dag = dagbag.dags["library_nightly"]
    order = [task.task_id for task in dag.topological_sort()]
    stages = ["validate_raw", "transform", "validate_marts", "recommend"]
    assert [t for t in order if t in stages] == stages
    for source in ("ingest_ils", "ingest_gate", "ingest_events"):
        assert order.index(source) < order.index("validate_raw")
    assert "ingest_ils" in dag.get_task("ingest_gate").upstream_task_ids
    assert dag.get_task("validate_marts").downstream_task_ids == {"recommend", "apply_retention"}
    assert dag.get_task("report").upstream_task_ids == {"recommend", "apply_retention"}


def test_no_cycles(dagbag):
    for dag in dagbag.dags.values():
        # topological_sort raises on a cycle
        assert len(dag.topological_sort()) == len(dag.tasks)


def test_run_day_is_the_logical_date_for_day_runs_and_last_full_day_otherwise():
    utc = UTC
    midnight = datetime(2026, 3, 16, tzinfo=utc)
    assert run_day(midnight, datetime(2026, 3, 15, tzinfo=utc)).isoformat() == "2026-03-16"
    noon = datetime(2026, 3, 17, 12, 30, tzinfo=utc)
    assert run_day(noon, datetime(2026, 3, 16, tzinfo=utc)).isoformat() == "2026-03-16"


def test_every_task_fails_at_once_on_a_configuration_error(dagbag, monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException
    from airflow.sdk.execution_time.context import set_current_context

    monkeypatch.setenv("LIBCRM_DATABASE_URL", "mysql://libcrm@db/libcrm")
    midnight = datetime(2026, 3, 16, tzinfo=UTC)
    context = {"logical_date": midnight, "data_interval_start": midnight, "run_id": "manual__t"}
    for task in dagbag.dags["library_nightly"].tasks:
        with (
            set_current_context(context),
            pytest.raises(AirflowFailException, match="LIBCRM_DATABASE_URL .*not retried"),
        ):
            task.python_callable(*task.op_args, **task.op_kwargs)


def test_recommend_announces_the_portal_publication_as_an_asset(dagbag):
    from airflow.sdk import Asset

    outlets = dagbag.dags["library_nightly"].get_task("recommend").outlets
    assert [(o.name, o.uri) for o in outlets if isinstance(o, Asset)] == [
        ("portal_publication", "libcrm://warehouse/portal/publication")
    ]
