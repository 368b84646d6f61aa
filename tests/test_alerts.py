"""Alerts reach a real SMTP server on loopback: a failed night (through a real Airflow run), a
critical validation and a stale source each send one e-mail a data engineer can act on; with
no recipient nothing is sent and the log says so once; a dead server never fails the night."""

from __future__ import annotations

import html
import logging
import sqlite3
from datetime import UTC, date, datetime
from types import SimpleNamespace

import psycopg
import pytest

from libcrm import alerts, db, operations, pipeline
from libcrm.tooling import runtime
from libcrm.workspace.pages import overview
from tests.smtp_support import smtp_server

DAY = date(2026, 3, 18)
OLD_DAY = date(2025, 8, 1)


def _use(monkeypatch, variables: dict[str, str]) -> None:
    for name, value in variables.items():
        monkeypatch.setenv(name, value)


@pytest.mark.e2e
def test_a_failed_night_emails_the_task_the_day_the_log_and_what_to_do(tmp_path):
    with smtp_server() as (inbox, smtp):
        env = runtime.pipeline_environment("mysql://libcrm@db/libcrm", tmp_path / "landing", None)
        env |= smtp | {"AIRFLOW_HOME": str(tmp_path / "airflow")}
        assert runtime.airflow(["db", "migrate"], env, tmp_path / "migrate.log").returncode == 0
        log = tmp_path / "dags-test.log"
        runtime.airflow(["dags", "test", "library_nightly", OLD_DAY.isoformat()], env, log)

    with sqlite3.connect(tmp_path / "airflow" / "airflow.db") as conn:
        (run_state,) = conn.execute("select state from dag_run").fetchone()
    assert run_state == "failed", log.read_text()[-3000:]
    assert len(inbox.messages) == 1, log.read_text()[-3000:]
    message, body = inbox.messages[0], html.unescape(inbox.body())
    assert message["Subject"] == (
        "[libcrm] library_nightly failed for 2025-08-01: ingest_ils (setting error)"
    )
    assert message["From"] == "libcrm@library.example.edu"
    assert sorted(inbox.recipients[0]) == ["data@library.example.edu", "oncall@library.example.edu"]
    assert "LIBCRM_DATABASE_URL does not start with postgresql://" in body
    assert "/dags/library_nightly/runs/" in body and "/tasks/ingest_ils" in body
    assert "task_id=ingest_ils/attempt=1.log" in body
    assert "A setting is missing or wrong" in body
    assert "airflow dags test library_nightly 2025-08-01" in body


def test_a_critical_validation_emails_the_failed_checks_and_where_to_look(monkeypatch):
    from airflow.sdk.exceptions import AirflowFailException

    from expectations.runner import CriticalValidationError

    problem = CriticalValidationError(
        "raw validation for 2026-03-18: 1 critical expectation(s) failed: raw.loans "
        "expect_column_values_to_not_be_null(item_id) {{ 12 rows }}. Data Docs: /srv/docs"
    )
    try:
        raise AirflowFailException(f"{problem} (not retried)") from problem
    except AirflowFailException as wrapped:
        error = wrapped
    context = {
        "ti": SimpleNamespace(task_id="validate_raw", dag_id="library_nightly", try_number=1),
        "exception": error,
        "run_id": "scheduled__2026-03-18T00:00:00+00:00",
        "logical_date": datetime(2026, 3, 18, tzinfo=UTC),
        "data_interval_start": datetime(2026, 3, 18, tzinfo=UTC),
    }
    with smtp_server() as (inbox, smtp):
        _use(monkeypatch, smtp)
        operations.notify_failure(context)
    assert len(inbox.messages) == 1
    body = html.unescape(inbox.body())
    assert inbox.messages[0]["Subject"] == (
        "[libcrm] library_nightly failed for 2026-03-18: validate_raw (critical validation)"
    )
    assert "expect_column_values_to_not_be_null(item_id) {{ 12 rows }}" in body
    assert "Data Docs: /srv/docs" in body
    assert "quality.validation_results where data_date = '2026-03-18'" in body


def _raw_rows(url: str) -> None:
    """Loans up to five days before DAY (stopped), gate passages up to the day before (fine),
    holds three days before (late), no event registrations at all."""
    db.bootstrap(url)
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into raw.loans (batch_id, source_line, loan_id, user_key, patron_id, "
            "item_id, checkout_at) values (1, 2, 'L1', 'k', 'P1', 'I1', '2026-03-13 10:00')"
        )
        conn.execute(
            "insert into raw.holds (batch_id, source_line, hold_id, user_key, patron_id, "
            "item_id, placed_at, status) values (1, 2, 'H1', 'k', 'P1', 'I1', "
            "'2026-03-15 20:00', 'waiting')"
        )
        conn.execute(
            "insert into raw.gate_passages (batch_id, source_line, card_number, passed_at, "
            "direction) values (2, 2, 'C1', '2026-03-17 09:00', 'in'), "
            # A passage after the day does not make the day fresh.
            "(3, 2, 'C1', '2026-03-20 09:00', 'in')"
        )
        conn.execute(
            "insert into raw.load_audit (source, entity, file, checksum, data_date, status) "
            "values ('ils', 'loans', 'loans.csv', 'x', '2026-03-13', 'loaded'), "
            "('gate', 'gate_passages', 'gate.csv', 'y', '2026-03-17', 'loaded')"
        )


def test_a_stale_source_emails_once_what_is_late_and_where_it_should_land(
    fresh_warehouse_url, monkeypatch, tmp_path
):
    _raw_rows(fresh_warehouse_url)
    monkeypatch.setenv("LIBCRM_DATABASE_URL", fresh_warehouse_url)
    monkeypatch.setenv("LIBCRM_LANDING_DIR", str(tmp_path / "landing"))
    with smtp_server() as (inbox, smtp):
        _use(monkeypatch, smtp)
        counts = pipeline.check_freshness(DAY, "manual__2026-03-18", "http://airflow/log")
        again = pipeline.check_freshness(DAY, "manual__2026-03-18-rerun")
    assert counts == {"error": 2, "warn": 1, "pass": 1}, counts
    assert again == counts
    assert len(inbox.messages) == 1, "a re-run of the day must not send the alert again"
    message, body = inbox.messages[0], html.unescape(inbox.body())
    assert message["Subject"] == (
        "[libcrm] stale source for 2026-03-18: events.event_registrations, ils.holds, ils.loans"
    )
    assert "ils.loans: stopped: newest record 2026-03-13 10:00, 5.6 days" in body
    assert "ils.holds: late: newest record 2026-03-15 20:00, 3.2 days" in body
    assert "events.event_registrations: stopped: no record at all" in body
    assert "gate.gate_passages" not in body
    assert f"{tmp_path / 'landing'}/ils/2026-03-18/" in body
    assert "http://airflow/log" in body
    with psycopg.connect(fresh_warehouse_url) as conn:
        recorded = dict(
            conn.execute(
                "select source_name || '.' || table_name, status from quality.source_freshness "
                "where data_date = %s and alerted_at is not null or status = 'pass'",
                [DAY],
            ).fetchall()
        )
    with psycopg.connect(fresh_warehouse_url) as conn:
        shown = {row[0]: row[-2:] for row in overview.freshness(conn).rows}
    assert shown == {  # the workspace overview reads the same table
        "ils": (datetime(2026, 3, 13, 10), "stopped"),
        "gate": (datetime(2026, 3, 17, 9), "on time"),
    }
    assert recorded == {
        "ils.loans": "error",
        "ils.holds": "warn",
        "events.event_registrations": "error",
        "gate.gate_passages": "pass",
    }


def test_without_a_recipient_nothing_is_sent_and_the_log_says_so_once(monkeypatch, caplog):
    alert = alerts.Alert(subject="[libcrm] test", summary="s", facts=(("data day", "d"),))
    with smtp_server() as (inbox, smtp):
        _use(monkeypatch, {**smtp, "LIBCRM_ALERT_TO": ""})
        with caplog.at_level(logging.WARNING):
            assert alerts.send(alert) is False
            assert alerts.send(alert) is False
    assert inbox.messages == []
    assert caplog.text.count("no LIBCRM_ALERT_TO set") <= 1


def test_an_unreachable_smtp_server_is_logged_and_never_raises(monkeypatch, caplog):
    with smtp_server() as (_, smtp):
        pass  # stopped: nothing listens on its port any more
    _use(monkeypatch, smtp)
    alert = alerts.Alert(subject="[libcrm] test", summary="s", facts=())
    assert alerts.send(alert) is False
    assert "could not e-mail the alert to data@library.example.edu" in caplog.text


def test_a_night_failed_by_a_mistyped_setting_is_still_emailed(monkeypatch):
    """The setting that failed the night must not also silence the alert that says so."""
    from libcrm.config import ConfigError

    problem = ConfigError("LIBCRM_LOAN_LINK_DAYS='abc' is not a whole number")
    context = {
        "ti": SimpleNamespace(task_id="ingest_ils", dag_id="library_nightly", try_number=1),
        "exception": problem,
        "run_id": "scheduled__2026-03-18T00:00:00+00:00",
        "logical_date": datetime(2026, 3, 18, tzinfo=UTC),
        "data_interval_start": datetime(2026, 3, 18, tzinfo=UTC),
    }
    with smtp_server() as (inbox, smtp):
        _use(monkeypatch, {**smtp, "LIBCRM_LOAN_LINK_DAYS": "abc"})
        operations.notify_failure(context)
    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == (
        "[libcrm] library_nightly failed for 2026-03-18: ingest_ils (setting error)"
    )
    assert "LIBCRM_LOAN_LINK_DAYS" in html.unescape(inbox.body())
