"""Every file that cannot be read ends the source's day as a ``failed`` audit row with a clear
message, raised as the error the nightly DAG does not retry (``SourceFormatError``)."""

from __future__ import annotations

import errno
from datetime import date

import psycopg
import pytest

from libcrm import ingest
from libcrm.ingest import loader
from tests.conftest import LANDING

PATRONS = (LANDING / "ils" / "2026-03-16" / "patrons.csv").read_text()


def _failed(url: str, day: date) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select file, error from raw.load_audit where data_date = %s and status = 'failed'",
            [day],
        ).fetchall()


def _loaded(url: str, day: date) -> int:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select count(*) from raw.load_audit where data_date = %s and status = 'loaded'",
            [day],
        ).fetchone()[0]


def test_a_deeply_nested_json_file_fails_its_day_with_a_failed_audit_row(warehouse_url, tmp_path):
    day = date(2026, 8, 1)
    folder = tmp_path / "events" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "events.json").write_text('{"events": [' + "[" * 100_000 + "]" * 100_000 + "]}")
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("events", day, warehouse_url, tmp_path)
    message = str(failure.value)
    assert message.startswith("events/2026-08-01/events.json: nested too deeply")
    assert _failed(warehouse_url, day) == [("events/2026-08-01/events.json", message)]


def test_a_folder_named_like_an_export_fails_its_day_with_a_failed_audit_row(
    warehouse_url, tmp_path
):
    day = date(2026, 8, 2)
    folder = tmp_path / "ils" / day.isoformat()
    (folder / "patrons.csv").mkdir(parents=True)
    (folder / "items.csv").write_text("item_id,title,material_type,status\nI1,t,book,available\n")
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    message = str(failure.value)
    assert message.startswith("ils/2026-08-02/patrons.csv: is a folder, not a file")
    assert _failed(warehouse_url, day) == [("ils/2026-08-02/patrons.csv", message)]
    assert _loaded(warehouse_url, day) == 0


def test_an_input_output_error_fails_its_day_with_a_failed_audit_row(
    warehouse_url, tmp_path, monkeypatch
):
    """A failing disk (EIO, a full disk) is injected where the loader reads the file."""
    day = date(2026, 8, 3)
    folder = tmp_path / "ils" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "patrons.csv").write_text(PATRONS)

    def broken_disk(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(loader, "open_source", broken_disk)
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    message = str(failure.value)
    assert message.startswith("ils/2026-08-03/patrons.csv: could not be read (Input/output error)")
    assert _failed(warehouse_url, day) == [("ils/2026-08-03/patrons.csv", message)]
    assert _loaded(warehouse_url, day) == 0
