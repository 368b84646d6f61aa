"""A library's own exports, mapped: Chinese headers, GB18030, the library's codes and date
formats, open vocabularies, and a mapping file that cannot be used refused in one message.

The worked example of docs/sources.md is the fixture under tests/data/mapped/.
"""

from __future__ import annotations

import shutil
from datetime import date, datetime
from pathlib import Path

import psycopg
import pytest

from libcrm import ingest, pipeline
from libcrm.config import ConfigError
from tests.conftest import DATA

DAY = date(2026, 3, 16)
EXAMPLE = DATA / "mapped"
REASONS = "select line, reason from quarantine.rejected_rows"
REJECTED = "select line, content, reason from quarantine.rejected_rows"
SOURCES_PAGE = Path(__file__).resolve().parent.parent / "docs" / "sources.md"


def _rows(url: str, query: str, params=None) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query, params).fetchall()


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The worked example's landing folder and mapping file, copied where the test may write."""
    folder = tmp_path_factory.mktemp("mapped")
    shutil.copytree(EXAMPLE, folder, dirs_exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def loaded(example, warehouse_url):
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("LIBCRM_EXPORT_MAPPING", str(example / "mapping.yml"))
        return {
            source: ingest.ingest_source(source, DAY, warehouse_url, example)
            for source in ("ils", "gate", "events")
        }


def test_the_mapped_exports_load_with_their_rows_counted(loaded, warehouse_url):
    audit = _rows(
        warehouse_url,
        "select file, rows_read, rows_loaded, rows_quarantined from raw.load_audit order by file",
    )
    assert audit == [
        ("events/2026-03-16/活动_20260316.json", 3, 2, 1),
        ("ils/2026-03-16/借阅_20260316.csv", 3, 3, 0),
        ("ils/2026-03-16/读者_20260316.csv", 3, 3, 0),
        ("ils/2026-03-16/馆藏_20260316.txt", 3, 3, 0),
    ]
    assert loaded["ils"].misnamed == [] and loaded["events"].misnamed == []


def test_gb18030_text_and_the_librarys_codes_and_dates_arrive_as_documented(loaded, warehouse_url):
    patrons = _rows(
        warehouse_url,
        "select patron_id, barcode, name, category, department, registered_on, expires_on, "
        "opt_out from raw.patrons order by patron_id",
    )
    assert patrons[0] == (
        "R2023001",
        "20230101",
        "张伟",
        "undergraduate",
        "计算机学院",
        date(2023, 9, 1),
        date(2027, 7, 1),
        False,
    )
    assert [(p[0], p[3], p[7]) for p in patrons[1:]] == [
        ("R2024017", "graduate", False),
        ("T0088", "faculty", True),
    ]
    items = _rows(
        warehouse_url,
        "select item_id, title, call_number, material_type, status, acquired_on "
        "from raw.items order by item_id",
    )
    assert items == [
        ("B000101", "三体", "I247.55/123", "book", "on_loan", date(2019, 5, 20)),
        ("B000102", "数据结构（C语言版）", "TP311.12/45", "book", "on_loan", date(2018, 9, 1)),
        ("E000007", "深度学习", "TP181/88", "ebook", "available", date(2021, 3, 15)),
    ]
    loans = _rows(
        warehouse_url,
        "select loan_id, item_id, checkout_at, returned_at from raw.loans order by loan_id",
    )
    assert loans[0] == ("J26031601", "B000101", datetime(2026, 3, 16, 9, 5), None)
    assert loans[2] == (
        "J26031603",
        "E000007",
        datetime(2026, 3, 16, 14, 12),
        datetime(2026, 3, 16, 20, 45),
    )
    events = _rows(warehouse_url, "select event_id, category, starts_at from raw.events")
    assert sorted(events) == [
        ("3101", "competition", datetime(2026, 3, 28, 14, 0)),
        ("3102", "lecture", datetime(2026, 3, 25, 19, 0)),
    ]


def test_an_unknown_category_is_quarantined_naming_the_mapping_key_to_edit(
    loaded, example, warehouse_url
):
    [(file, line, content, reason)] = _rows(
        warehouse_url, "select file, line, content, reason from quarantine.rejected_rows"
    )
    assert (file, line) == ("events/2026-03-16/活动_20260316.json", 3)
    assert '"类别": "沙龙"' in content  # the record as the library wrote it
    assert reason.startswith("category.name '沙龙' is not in the event_category vocabulary (")
    assert "competition|exhibition" in reason
    assert reason.endswith(
        "map it under events.events.values.category or add it to vocabulary.event_category "
        f"in {example / 'mapping.yml'}"
    )


def test_without_a_mapping_an_unknown_code_says_which_mapping_would_accept_it(
    tmp_path, fresh_warehouse_url, monkeypatch
):
    monkeypatch.delenv("LIBCRM_EXPORT_MAPPING", raising=False)
    folder = tmp_path / "ils" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "items.csv").write_text(
        "item_id,title,material_type,status\nI1,Wolf Totem,book,available\n"
        "I2,Deep Learning,ebook,available\n"
    )
    ingest.ingest_source("ils", DAY, fresh_warehouse_url, tmp_path)
    [(line, reason)] = _rows(fresh_warehouse_url, REASONS)
    assert line == 3
    assert reason == (
        "material_type 'ebook' is not in the material_type vocabulary "
        "(book|study_room|locker|laptop): map it under ils.items.values.material_type or add "
        "it to vocabulary.material_type in a mapping file named by LIBCRM_EXPORT_MAPPING (see "
        "docs/sources.md)"
    )


def test_a_value_not_in_the_mapped_date_format_is_quarantined_on_its_own_line(
    tmp_path, fresh_warehouse_url, monkeypatch
):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "ils:\n  loans:\n    delimiter: ';'\n"
        "    columns: {流水号: loan_id, 读者号: patron_id, 记录号: item_id,\n"
        "              借阅日期: checkout_at}\n"
        "    formats: {checkout_at: '%Y年%m月%d日 %H:%M'}\n"
    )
    monkeypatch.setenv("LIBCRM_EXPORT_MAPPING", str(mapping))
    folder = tmp_path / "ils" / DAY.isoformat()
    folder.mkdir(parents=True)
    (folder / "loans.csv").write_text(
        "流水号;读者号;记录号;借阅日期\nL1;R1;B1;2026年03月16日 09:05\n"
        "L2;R1;B2;2026-03-16 09:06:00\nL3;R2;B3;2026年13月16日 09:07\n",
        encoding="utf-8",
    )
    [result] = ingest.ingest_source("ils", DAY, fresh_warehouse_url, tmp_path)
    assert (result.rows_read, result.rows_loaded, result.rows_quarantined) == (3, 2, 1)
    assert _rows(fresh_warehouse_url, REJECTED) == [
        (
            4,
            "L3;R2;B3;2026年13月16日 09:07",
            "checkout_at '2026年13月16日 09:07' is not a timestamp written %Y年%m月%d日 %H:%M "
            "(ils.loans.formats.checkout_at)",
        )
    ]
    assert _rows(fresh_warehouse_url, "select checkout_at from raw.loans order by loan_id") == [
        (datetime(2026, 3, 16, 9, 5),),
        (datetime(2026, 3, 16, 9, 6),),
    ]


BAD_MAPPING = """\
ils:
  loans:
    colums: {借阅日期: checkout_at}
events:
  events:
    values:
      category: {竞赛: competion}
vocabulary:
  event_category: [Competition]
"""


def test_a_bad_mapping_file_is_refused_with_one_message_and_nothing_loaded(
    example, tmp_path, fresh_warehouse_url, monkeypatch
):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(BAD_MAPPING)
    monkeypatch.setenv("LIBCRM_EXPORT_MAPPING", str(mapping))
    with pytest.raises(ConfigError) as refused:
        ingest.ingest_source("ils", DAY, fresh_warehouse_url, example)
    message = str(refused.value)
    assert message.startswith(f"export mapping {mapping} (LIBCRM_EXPORT_MAPPING) cannot be used")
    assert "ils.loans.colums: is not a key of the mapping file — remove it or correct" in message
    assert "(one of file, encoding, delimiter, columns, values, formats)" in message
    assert _rows(fresh_warehouse_url, "select count(*) from raw.load_audit") == [(0,)]
    assert isinstance(refused.value, pipeline.permanent_errors())  # the DAG does not retry it

    mapping.write_text(BAD_MAPPING.replace("colums", "columns"))
    with pytest.raises(ConfigError) as refused:
        ingest.ingest_source("events", DAY, fresh_warehouse_url, example)
    message = str(refused.value)
    assert "vocabulary.event_category: 'Competition' is not a code — write codes in" in message
    assert (
        "events.events.values.category.竞赛: maps to 'competion', which is not in the "
        "event_category vocabulary (lecture|reading_club|workshop|reading_festival|Competition)"
    ) in message
    assert message.count("—") == 2  # the two problems, each with its fix, and nothing else


def test_a_mapping_file_that_is_not_yaml_is_refused_naming_its_line(tmp_path, monkeypatch):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("ils:\n  loans:\n    columns: {借阅日期: checkout_at\n")
    monkeypatch.setenv("LIBCRM_EXPORT_MAPPING", str(mapping))
    with pytest.raises(ConfigError, match=rf"{mapping} .*is not YAML at line \d"):
        ingest.vocabulary_additions()


def test_the_sources_page_shows_the_example_mapping_and_loans_export():
    page = SOURCES_PAGE.read_text()
    assert (EXAMPLE / "mapping.yml").read_text() in page
    loans = EXAMPLE / "ils" / DAY.isoformat() / "借阅_20260316.csv"
    assert loans.read_bytes().decode("gb18030") in page


def test_a_name_pattern_matching_two_files_fails_the_day_naming_them(
    tmp_path, fresh_warehouse_url, monkeypatch
):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("ils:\n  loans:\n    file: '借阅_*.csv'\n")
    monkeypatch.setenv("LIBCRM_EXPORT_MAPPING", str(mapping))
    folder = tmp_path / "ils" / DAY.isoformat()
    folder.mkdir(parents=True)
    for name in ("借阅_1.csv", "借阅_2.csv"):
        (folder / name).write_text("loan_id,patron_id,item_id,checkout_at\n")
    with pytest.raises(ingest.SourceFormatError) as failure:
        ingest.ingest_source("ils", DAY, fresh_warehouse_url, tmp_path)
    assert str(failure.value).startswith(
        f"ils/{DAY}/借阅_1.csv: 2 files match ils.loans.file '借阅_*.csv' in {mapping} "
        "(借阅_1.csv, 借阅_2.csv); nothing was loaded"
    )
    failed = "select file, status from raw.load_audit"
    assert _rows(fresh_warehouse_url, failed) == [(f"ils/{DAY}/借阅_1.csv", "failed")]
