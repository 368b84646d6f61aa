"""Messages say what is wrong: a lone surrogate escape is not a bad byte, a semicolon-separated
file has the wrong delimiter."""

from __future__ import annotations

from datetime import date

import psycopg
import pytest

from libcrm import ingest
from tests.conftest import LANDING

PATRONS = (LANDING / "ils" / "2026-03-16" / "patrons.csv").read_text()


def test_a_lone_surrogate_escape_is_named_as_such_with_its_column(warehouse_url, tmp_path):
    day = date(2026, 9, 1)
    folder = tmp_path / "events" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "events.json").write_text(
        '{"events": [{"id": 1, "title": "Broken \\ud800 title", "category": {"name": "lecture"},'
        ' "start": "2026-09-02 10:00:00", "registration": false}]}'
    )
    (result,) = ingest.ingest_source("events", day, warehouse_url, tmp_path)
    with psycopg.connect(warehouse_url) as conn:
        (reason,) = conn.execute(
            "select reason from quarantine.rejected_rows where batch_id = %s", [result.batch_id]
        ).fetchone()
    assert "not UTF-8" not in reason
    assert reason.startswith("title holds the JSON escape \\ud800, half of a surrogate pair")


def test_a_semicolon_separated_file_is_told_its_delimiter_is_wrong(warehouse_url, tmp_path):
    day = date(2026, 9, 2)
    folder = tmp_path / "ils" / day.isoformat()
    folder.mkdir(parents=True)
    (folder / "patrons.csv").write_text(PATRONS.replace(",", ";"))
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("ils", day, warehouse_url, tmp_path)
    message = str(failure.value)
    assert message.startswith(
        f"ils/{day}/patrons.csv: the header is separated by ';' but exports must use commas"
    )
