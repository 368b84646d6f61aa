"""The ranges docs/sources.md states are enforced at load: a value outside its range is
quarantined with a reason naming column, value and range, judged in bulk or row by row."""

from __future__ import annotations

import json
import re
import shutil
from datetime import date
from pathlib import Path

import psycopg
import pytest

from libcrm import ingest
from libcrm.ingest import chunks
from libcrm.ingest.sources import ENTITIES
from tests.conftest import LANDING

FIRST, BULK, ROW_BY_ROW = date(2026, 3, 16), date(2026, 7, 1), date(2026, 7, 2)
SOURCES_PAGE = Path(__file__).parent.parent / "docs" / "sources.md"
RATINGS = [None, 1, 5, 0, 6, "3", -1, 10, 4, 2] * 30


def _registrations(day: date) -> str:
    return json.dumps(
        {
            "registrations": [
                {
                    "registration_id": f"{day:%m%d}-{n}",
                    "event_id": 1201,
                    "barcode": "2023000001",
                    "registered_at": "2026-03-12 10:31:00",
                    "attendance": "attended",
                    "rating": rating,
                }
                for n, rating in enumerate(RATINGS)
            ]
        }
    )


@pytest.fixture(scope="module")
def loaded(warehouse_url, tmp_path_factory):
    """The same ratings loaded twice: as shipped, and with every chunk judged row by row."""
    landing = tmp_path_factory.mktemp("landing")
    shutil.copytree(LANDING / "ils", landing / "ils")
    ingest.ingest_source("ils", FIRST, warehouse_url, landing)
    for day in (BULK, ROW_BY_ROW):
        folder = landing / "events" / day.isoformat()
        folder.mkdir(parents=True)
        (folder / "registrations.json").write_text(_registrations(day))
    (bulk,) = ingest.ingest_source("events", BULK, warehouse_url, landing)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(chunks.ChunkJudge, "copy_text", lambda *args: None)
        (by_row,) = ingest.ingest_source("events", ROW_BY_ROW, warehouse_url, landing)
    return warehouse_url, bulk, by_row


def _quarantined(conn, batch_id: int) -> list[tuple[int, str]]:
    return conn.execute(
        "select line, reason from quarantine.rejected_rows where batch_id = %s order by line",
        [batch_id],
    ).fetchall()


@pytest.mark.parametrize("path", ["bulk", "row_by_row"])
def test_a_rating_outside_1_to_5_is_quarantined_naming_column_value_and_range(loaded, path):
    url, bulk, by_row = loaded
    result = bulk if path == "bulk" else by_row
    with psycopg.connect(url) as conn:
        reasons = {reason for _, reason in _quarantined(conn, result.batch_id)}
        ratings = conn.execute(
            "select distinct rating from raw.event_registrations where batch_id = %s",
            [result.batch_id],
        ).fetchall()
    assert (result.rows_read, result.rows_quarantined) == (300, 120)
    assert reasons == {
        f"rating '{value}' is outside its documented range 1-5" for value in (0, 6, -1, 10)
    }
    assert sorted(ratings, key=str) == sorted([(None,), (1,), (2,), (3,), (4,), (5,)], key=str)


def test_bulk_and_row_by_row_quarantine_the_same_lines(loaded):
    url, bulk, by_row = loaded
    with psycopg.connect(url) as conn:
        assert _quarantined(conn, bulk.batch_id) == _quarantined(conn, by_row.batch_id)


def test_every_range_the_sources_page_states_is_enforced_at_load():
    stated = re.findall(r"`(\w+)` is (\d+)–(\d+)", SOURCES_PAGE.read_text())
    enforced = {
        (column.name, *map(str, column.rule.parse.range))
        for entity in ENTITIES
        for column in entity.columns
        if hasattr(column.rule.parse, "range")
    }
    assert stated and set(stated) <= enforced
