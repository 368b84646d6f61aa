"""Hostile input through every loader: stored verbatim or quarantined, never executed."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import psycopg
import pytest

from libcrm import ingest
from libcrm.ingest.sources import ENTITIES
from tests.conftest import LANDING

DAY = date(2026, 5, 1)
BAD_BYTE = b"\xff"  # a lead byte neither UTF-8 nor GB18030 has
NOT_TEXT_MARK = "@@not-text@@"
# Values a loader must store exactly as given.
VERBATIM = [
    "Robert'); drop table raw.loans; --",
    "'; delete from identity.patron_keys; select '",
    "semi;colon; ;",
    'He said "stop", then, left',
    "tab\there and a\nline break",
    "control \x01\x07\x1b[31m characters",
    "back\\slash \\N and \\.",
    "\\.",
    "长" * 300_000,
]
# Values a loader must quarantine, with a fragment of the reason.
REFUSED = [
    ("nul \x00 byte", "NUL character"),
    (NOT_TEXT_MARK, "not UTF-8"),
]
OVERSIZED = "x" * 2_000_000  # beyond the CSV field limit: the row is quarantined
INJECTION = "2026-05-01 10:00:00'); drop table raw.loans; --"

# Per entity: a valid record for row n, the column poisoned with each value, its raw column,
# and a typed column that gets an injection attempt instead of a valid value. A table, one
# entity per entry: the formatter would spread each over a dozen lines.
BASE = {
    "patrons": (lambda n: {"patron_id": f"HP{n}", "barcode": f"HB{n}", "category": "staff",
                           "registered_on": "2026-01-01", "opt_out": "false"},
                "name", "name", "registered_on"),
    "items": (lambda n: {"item_id": f"HI{n}", "title": "t", "material_type": "book",
                         "status": "available"}, "title", "title", "status"),
    "loans": (lambda n: {"loan_id": f"HL{n}", "patron_id": "P001", "item_id": "I001",
                         "checkout_at": "2026-05-01 10:00:00"}, "item_id", "item_id",
              "checkout_at"),
    "holds": (lambda n: {"hold_id": f"HH{n}", "patron_id": "P001", "item_id": "I001",
                         "placed_at": "2026-05-01 10:00:00", "status": "waiting"},
              "item_id", "item_id", "placed_at"),
    "purchase_requests": (lambda n: {"request_id": f"HR{n}", "patron_id": "P001", "title": "t",
                                     "requested_at": "2026-05-01 10:00:00",
                                     "status": "pending"}, "title", "title", "requested_at"),
    "gate_passages": (lambda n: {"card_number": "2023000001",
                                 "timestamp": "2026-05-01 10:00:00", "direction": "in"},
                      "gate_id", "gate_id", "timestamp"),
    "events": (lambda n: {"id": f"HE{n}", "title": "t", "category": {"name": "lecture"},
                          "start": "2026-05-01 10:00:00", "registration": True},
               "title", "title", "start"),
    "event_registrations": (lambda n: {"registration_id": f"HG{n}", "event_id": "1",
                                       "barcode": "2023000001", "attendance": "unknown"},
                            "event_id", "event_id", "attendance"),
}  # fmt: skip


def hostile_rows(table: str, oversized: bool) -> list[dict]:
    base, column, _, typed = BASE[table]
    values = VERBATIM + [value for value, _ in REFUSED] + ([OVERSIZED] if oversized else [])
    rows = [{**base(n), column: value} for n, value in enumerate(values)]
    return rows + [{**base(len(rows)), typed: INJECTION}]


def encode(entity, rows: list[dict]) -> bytes:
    if entity.file_name.endswith(".json"):
        text = json.dumps({entity.file_name[:-5]: rows}, ensure_ascii=False)
    else:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=entity.names, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    return text.encode("utf-8").replace(NOT_TEXT_MARK.encode(), b"caf" + BAD_BYTE)


@pytest.fixture(scope="module")
def loaded(warehouse_url, tmp_path_factory):
    landing = tmp_path_factory.mktemp("hostile")
    ingest.ingest_source("ils", date(2026, 3, 16), warehouse_url, LANDING)  # card 2023000001
    for entity in ENTITIES:
        path = landing / entity.source / DAY.isoformat() / entity.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        oversized = not entity.file_name.endswith(".json")
        path.write_bytes(encode(entity, hostile_rows(entity.table, oversized)))
    results = {}
    for source in ("ils", "gate", "events"):
        results.update(
            {r.entity: r for r in ingest.ingest_source(source, DAY, warehouse_url, landing)}
        )
    return results


@pytest.mark.parametrize("table", list(BASE))
def test_hostile_values_are_stored_verbatim_or_quarantined(loaded, warehouse_url, table):
    result = loaded[table]
    csv_file = table not in ("events", "event_registrations")
    refused = len(REFUSED) + 1 + csv_file  # + the injection in a typed column (+ oversized)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (
        len(VERBATIM) + refused,
        len(VERBATIM),
        refused,
    )
    _, _, target, typed = BASE[table]
    with psycopg.connect(warehouse_url) as conn:
        stored = conn.execute(
            f"select {target} from raw.{table} where batch_id = %s order by source_line",  # noqa: S608
            [result.batch_id],
        ).fetchall()
        reasons = [
            row[0]
            for row in conn.execute(
                "select reason from quarantine.rejected_rows where batch_id = %s order by line",
                [result.batch_id],
            ).fetchall()
        ]
        tables = conn.execute(
            "select count(*) from pg_tables where schemaname in ('raw', 'identity')"
        ).fetchone()[0]
        keys = conn.execute("select count(*) from identity.patron_keys").fetchone()[0]
    assert [value for (value,) in stored] == VERBATIM
    for (_, fragment), reason in zip(REFUSED, reasons, strict=False):
        assert fragment in reason
    if csv_file:
        assert "field larger than field limit" in reasons[len(REFUSED)]
    assert reasons[-1].startswith(f"{typed} '{INJECTION}' is not")
    # + load_audit, patron_keys, cards, key_fingerprint: all there
    assert tables == len(ENTITIES) + 4 and keys >= 4


def test_quarantine_keeps_the_original_text_of_refused_rows(loaded, warehouse_url):
    with psycopg.connect(warehouse_url) as conn:
        contents = [
            row[0]
            for row in conn.execute(
                "select content from quarantine.rejected_rows where batch_id = %s order by line",
                [loaded["loans"].batch_id],
            ).fetchall()
        ]
    assert contents[0] == "HL9,P001,nul \\x00 byte,2026-05-01 10:00:00,,"
    assert contents[1] == "HL10,P001,caf\\xff,2026-05-01 10:00:00,,"
    assert contents[-1] == f"HL12,P001,I001,{INJECTION},,"
