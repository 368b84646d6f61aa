"""The landing folder: a missing one fails, a source without an export for the day warns (or
fails, when configured), and misnamed exports are reported with the expected name; each
reaches the run's result, not only the log."""

from __future__ import annotations

import logging
import shutil
from datetime import date

import pytest

from libcrm import config, ingest, pipeline
from tests.conftest import LANDING

DAY = date(2026, 3, 16)


@pytest.fixture
def landing(tmp_path):
    """The test landing with the ILS day only: no gate log, no events that day."""
    shutil.copytree(LANDING / "ils", tmp_path / "ils")
    return tmp_path


def test_a_missing_landing_folder_fails_naming_it_and_the_setting(warehouse_url, tmp_path):
    with pytest.raises(config.ConfigError) as failure:
        ingest.ingest_source("gate", DAY, warehouse_url, tmp_path / "not-mounted")
    message = str(failure.value)
    assert str(tmp_path / "not-mounted") in message and "LIBCRM_LANDING_DIR" in message


def test_an_empty_landing_folder_fails_as_not_mounted(warehouse_url, tmp_path):
    with pytest.raises(config.ConfigError, match="is it mounted"):
        ingest.ingest_source("ils", DAY, warehouse_url, tmp_path)


def test_a_source_without_an_export_for_the_day_warns_in_the_runs_result(
    warehouse_url, landing, monkeypatch, caplog
):
    monkeypatch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
    monkeypatch.setenv("LIBCRM_LANDING_DIR", str(landing))
    with caplog.at_level(logging.INFO, logger="libcrm.ingest"):
        summary = pipeline.ingest_source("gate", DAY)
    expected = f"gate: no export for {DAY} in {landing / 'gate' / DAY.isoformat()}"
    assert summary["files"] == 0 and [w.startswith(expected) for w in summary["warnings"]] == [True]
    assert [r.levelno for r in caplog.records if r.getMessage().startswith(expected)] == [
        logging.WARNING
    ]


def test_a_required_source_without_an_export_for_the_day_fails_it(
    warehouse_url, landing, monkeypatch
):
    monkeypatch.setenv("LIBCRM_REQUIRED_SOURCES", "ils,gate")
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("gate", DAY, warehouse_url, landing)
    assert str(failure.value).startswith(f"gate/{DAY}: no export for {DAY}")
    assert "LIBCRM_REQUIRED_SOURCES" in str(failure.value)


def test_an_unknown_required_source_is_a_configuration_error(warehouse_url, landing, monkeypatch):
    monkeypatch.setenv("LIBCRM_REQUIRED_SOURCES", "ils,turnstile")
    with pytest.raises(config.ConfigError, match="turnstile"):
        ingest.ingest_source("ils", DAY, warehouse_url, landing)


def test_misnamed_exports_are_warned_with_the_expected_name_and_counted(
    warehouse_url, landing, monkeypatch, caplog
):
    day = date(2026, 3, 20)
    folder = landing / "ils" / day.isoformat()
    folder.mkdir()
    loans = (LANDING / "ils" / DAY.isoformat() / "loans.csv").read_text()
    (folder / "loans (1).csv").write_text(loans)
    (folder / "Loans.CSV").write_text(loans)
    (folder / "notes.txt").write_text("hello")
    monkeypatch.setenv("LIBCRM_DATABASE_URL", warehouse_url)
    monkeypatch.setenv("LIBCRM_LANDING_DIR", str(landing))
    with caplog.at_level(logging.INFO, logger="libcrm.ingest"):
        summary = pipeline.ingest_source("ils", day)
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert summary["misnamed_files"] == 3 and summary["files"] == 0
    for name in ("Loans.CSV", "loans (1).csv"):
        expected = f"ils/{day}/{name} is not loaded: an export must be named exactly loans.csv"
        assert any(w.startswith(expected) for w in warned)
    assert any(w.startswith(f"ils/{day}/notes.txt is not loaded: not an export") for w in warned)
    assert set(warned) <= set(summary["warnings"])
