"""Whole chunks of rows are judged at once for speed; the tables must come out exactly as
judging every row on its own would leave them, whatever the file holds."""

from __future__ import annotations

import itertools
import random
import re
from datetime import date, datetime, timedelta

import psycopg
import pytest

from libcrm import ingest
from libcrm.ingest import chunks, fields, loader
from libcrm.ingest.fields import Column, Entity, RowError, Rule, boolean, day, integer, timestamp
from libcrm.ingest.keys import Keys

FAST_DAY, SLOW_DAY = date(2026, 6, 1), date(2026, 6, 2)
ROWS = 3 * loader.CHUNK_ROWS + 123  # several chunks, the last one partial
PATRONS = 300
SEED = 20260601
BAD_MOMENTS = [
    "2026-02-29 10:00:00",
    "2024-02-30 10:00:00",
    "2026-03-16 24:00:00",
    "2026-03-16T09:00:00",
    "2026-03-16 09:00:60",
    "0000-01-01 00:00:00",
    "2026-3-16 09:00:00",
    "２０２６-03-16 09:00:00",
    "not a time",
    "2026-03-16 09:00:00.5",
]
PLAIN_PICKS = (0, 1, 6, 9)  # the oddities of ``_odd`` that keep a line plain
PLAIN_FROM = ROWS // 3  # layout oddities only before this row, so later blocks stay plain
GOOD_ODD_MOMENTS = ["2024-02-29 23:59:59", " 2026-03-16 09:00:00", "2026-03-16 09:00:00\u3000"]


def _moment(rng: random.Random) -> str:
    start = datetime(2026, 3, 1)
    return (start + timedelta(seconds=rng.randrange(86_400 * 30))).strftime("%Y-%m-%d %H:%M:%S")


def _odd(rng: random.Random, fields: list[str], moment_column: int, plain: bool) -> str:
    """A line that is wrong or unusual in one of many ways (or an ordinary one); with
    ``plain`` only in its values, so it stays one unquoted line of the usual width."""
    pick = rng.choice(PLAIN_PICKS) if plain else rng.randrange(12)
    if pick == 0:
        fields[moment_column] = rng.choice(BAD_MOMENTS)
    elif pick == 1:
        fields[moment_column] = rng.choice(GOOD_ODD_MOMENTS)
    elif pick == 2:
        return '"' + '","'.join(fields) + '"'  # quoted but valid
    elif pick == 3:
        return ",".join(fields) + "\r"  # CRLF line end (the file's ends are \n otherwise)
    elif pick == 4:
        return ",".join(fields) + ",surplus"
    elif pick == 5:
        fields[0] = f'"{fields[0]}\nsecond line"'
    elif pick == 6:
        fields[0] = f" {fields[0]}\u00a0"  # padding the parsers strip
    elif pick == 7:
        fields[-1] = "tab\there, back\\slash"
    elif pick == 8:
        return ""  # an empty line
    elif pick == 9:
        fields[0] = ""
    return ",".join(fields)


def _files(rng: random.Random) -> dict[tuple[str, str], str]:
    patrons = [
        "patron_id,barcode,name,email,birth_date,category,department,enrolled_year,"
        "registered_on,expires_on,opt_out"
    ]
    flags = ["true", "false", "yes", "no", "TRUE", "0", "1", "t", "F", "Yes"]
    years = ["2024"] * 20 + ["+0042", "007", "", "-3"]
    for n in range(PATRONS):  # valid, in every spelling the parsers accept
        patrons.append(
            f"P{n},C{n},Name {n},,2000-02-29,staff,Dept,{rng.choice(years)},"
            f"2024-09-01,,{rng.choice(flags)}"
        )
    for n in range(PATRONS, PATRONS + 30):  # refused; nothing else refers to them
        wrong = [
            ("Staff", "2024", "1999-01-01"),
            ("staff", "2147483648", "1999-01-01"),
            ("staff", "20x4", "1999-01-01"),
            ("staff", "2024", "1999-02-29"),
        ][n % 4]
        patrons.append(
            f"P{n},C{n},Name {n},,{wrong[2]},{wrong[0]},Dept,{wrong[1]},2024-09-01,,true"
        )
    patrons.append(patrons[5])  # the same patron twice
    gate = ["card_number,timestamp,direction,gate_id"]
    loans = ["loan_id,patron_id,item_id,checkout_at,due_at,returned_at"]
    for n in range(ROWS):
        card = f"C{rng.randrange(PATRONS)}" if rng.random() > 0.001 else "C-unknown"
        direction = rng.choice(["in", "out"] * 600 + ["IN", "sideways", " out"])
        fields = [card, _moment(rng), direction, rng.choice(["G1", "G2", ""])]
        if n >= PLAIN_FROM and n % 2000 == 0:  # a wrong day among plain lines
            fields[1] = BAD_MOMENTS[n // 2000 % 2]
        odd = rng.random() < 0.002
        gate.append(_odd(rng, fields, 1, n >= PLAIN_FROM) if odd else ",".join(fields))
        loan = f"L{n}" if rng.random() > 0.0005 else f"L{rng.randrange(n + 1)}"  # a repeat
        fields = [
            loan,
            f"P{rng.randrange(PATRONS)}",
            f"I{n}",
            _moment(rng),
            _moment(rng),
            rng.choice(["", _moment(rng)]),
        ]
        if n >= PLAIN_FROM and n % 2000 == 1000:
            fields[4] = BAD_MOMENTS[n // 2000 % 2]
        odd = rng.random() < 0.002
        loans.append(_odd(rng, fields, 3, n >= PLAIN_FROM) if odd else ",".join(fields))
    return {
        ("ils", "patrons.csv"): "\n".join(patrons) + "\n",
        ("ils", "loans.csv"): "\n".join(loans) + "\n",
        ("gate", "gate_log.csv"): "\n".join(gate) + "\n",
    }


def _write(landing, day: date, files: dict[tuple[str, str], str]) -> None:
    for (source, name), content in files.items():
        path = landing / source / day.isoformat() / name
        path.parent.mkdir(parents=True, exist_ok=True)
        encoding = "gb18030" if name == "loans.csv" else "utf-8-sig"  # GBK, and a BOM
        path.write_bytes(content.encode(encoding))


def _load(url, landing, day: date) -> dict[str, ingest.LoadResult]:
    results = {}
    for source in ("ils", "gate"):
        results.update({r.entity: r for r in ingest.ingest_source(source, day, url, landing)})
    return results


@pytest.fixture(scope="module")
def both(warehouse_url, tmp_path_factory):
    """The same files loaded twice: as shipped, and with every chunk judged row by row."""
    landing = tmp_path_factory.mktemp("fast")
    files = _files(random.Random(SEED))  # noqa: S311 (test data, not secrets)
    for day_ in (FAST_DAY, SLOW_DAY):
        _write(landing, day_, files)
    by_row = {"count": 0}
    whole = loader._Rows._row_by_row

    def counted(self, chunk):
        by_row["count"] += len(chunk)
        return whole(self, chunk)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(loader._Rows, "_row_by_row", counted)
        fast = _load(warehouse_url, landing, FAST_DAY)
        fast_by_row = by_row["count"]
        patch.setattr(chunks.ChunkJudge, "plain_text", lambda *args: None)
        patch.setattr(chunks.ChunkJudge, "copy_text", lambda *args: None)
        slow = _load(warehouse_url, landing, SLOW_DAY)
    return fast, slow, fast_by_row


COLUMNS = {
    "patrons": "user_key, patron_id, barcode, name, email, birth_date, category, department, "
    "enrolled_year, registered_on, expires_on, opt_out",
    "loans": "user_key, loan_id, patron_id, item_id, checkout_at, due_at, returned_at",
    "gate_passages": "card_number, passed_at, direction, gate_id",
}


@pytest.mark.parametrize("table", list(COLUMNS))
def test_bulk_judging_loads_and_quarantines_exactly_like_row_by_row(both, warehouse_url, table):
    fast, slow, _ = both
    assert fast[table].rows_quarantined > 0 and fast[table].rows_loaded > 0
    assert (fast[table].rows_read, fast[table].rows_loaded, fast[table].rows_quarantined) == (
        slow[table].rows_read,
        slow[table].rows_loaded,
        slow[table].rows_quarantined,
    )
    with psycopg.connect(warehouse_url) as conn:

        def rows(batch_id: int) -> list[tuple]:
            return conn.execute(
                f"select source_line, {COLUMNS[table]} from raw.{table} "  # noqa: S608
                "where batch_id = %s order by source_line",
                [batch_id],
            ).fetchall()

        def rejected(batch_id: int, day_: date) -> list[tuple]:
            return conn.execute(
                "select line, content, replace(reason, %s, 'the day') "
                "from quarantine.rejected_rows where batch_id = %s order by line",
                [day_.isoformat(), batch_id],
            ).fetchall()

        assert rows(fast[table].batch_id) == rows(slow[table].batch_id)
        assert rejected(fast[table].batch_id, FAST_DAY) == rejected(slow[table].batch_id, SLOW_DAY)


def test_the_quarantine_reasons_come_from_the_row_parsers(both, warehouse_url):
    fast, _, _ = both
    with psycopg.connect(warehouse_url) as conn:
        reasons = [
            reason
            for (reason,) in conn.execute(
                "select reason from quarantine.rejected_rows where batch_id = any(%s)",
                [[result.batch_id for result in fast.values()]],
            )
        ]
    clock = "is not a local time (YYYY-MM-DD HH:MM:SS)"
    assert any(r.startswith("timestamp '") and r.endswith(clock) for r in reasons)
    assert any(r.startswith("checkout_at '") and r.endswith(clock) for r in reasons)
    assert any(r == "direction 'sideways' is not in|out" for r in reasons)
    assert any(r.startswith("duplicate loan_id 'L") for r in reasons)
    assert any(
        r.startswith("card_number 'C-unknown' is not a card any patron held") for r in reasons
    )
    staff = "category 'Staff' is not in the patron_category vocabulary "
    assert any(r.startswith(staff + "(undergraduate|graduate|faculty|staff): ") for r in reasons)


def test_most_rows_of_an_ordinary_file_are_judged_in_bulk(both):
    fast, _, fast_by_row = both
    total = sum(result.rows_read for result in fast.values())
    assert fast_by_row < total * 0.25


def _judged_in_bulk(rule: Rule, value: str) -> bool:
    """Whether a plain line holding only ``value`` in a column of ``rule`` loads in bulk, as a
    whole line or column by column."""
    entity = Entity("test", "test.csv", "test", (Column("value", rule, required=True),))
    judge = chunks.ChunkJudge(entity, ["value"], Keys(entity, b"", frozenset(), FAST_DAY), [])
    return (
        judge.plain_text(1, [1], [value]) is not None
        or judge.copy_text(1, (1,), [[value]]) is not None
    )


def test_bulk_judging_accepts_only_what_the_column_rules_accept():
    """A value loaded as it is must be one its rule's parser accepts: sweep every day of the
    Gregorian corner cases and every clock time through the bulk line judge."""
    years = [1, 4, 100, 400, 1900, 2000, 2023, 2024, 2100, 9999]
    samples = [
        f"{y:04d}-{m:02d}-{d:02d}" for y in [0, *years] for m in range(14) for d in range(33)
    ]
    samples += [
        f"{day_} {h:02d}:{m:02d}:{s:02d}"
        for day_ in ("2024-02-29", "2023-02-29")
        for h in (0, 9, 23, 24, 99)
        for m in (0, 59, 60)
        for s in (0, 59, 60)
    ]
    samples += ["0", "+7", "-7", "007", "999999999", "2147483648", "1e3", "٣"]  # integers
    samples += ["yes", "Yes", "TRUE", "tRUE", "yeſ", "on", "t", "T"]  # booleans
    for rule in (day, timestamp, integer, boolean):
        accepted = 0
        for value in samples:
            if _judged_in_bulk(rule, value):
                accepted += 1
                try:
                    rule(value)
                except RowError:
                    pytest.fail(f"{value!r} is loaded in bulk but its parser refuses it")
        assert accepted, rule
    assert _judged_in_bulk(day, "2024-02-29") and not _judged_in_bulk(day, "2023-02-29")
    assert not _judged_in_bulk(timestamp, "2100-02-29 10:00:00")


def test_a_new_column_rule_brings_its_own_bulk_check():
    """The bulk paths follow from the rule a column declares, not from a list of known ones."""

    def three_digits(value: str) -> str:
        if not (len(value) == 3 and value.isdigit()):
            raise RowError(f"'{value}' is not three digits")
        return value

    rule = Rule(three_digits, "[0-9]{3}")
    assert _judged_in_bulk(rule, "042") and not _judged_in_bulk(rule, "42")


def test_text_shape_is_a_value_without_comma_line_end_or_outer_whitespace():
    """Every short string over an alphabet of letters, commas, line ends and several kinds of
    whitespace: the text shape accepts it exactly when it is non-empty, holds no comma or line
    end, and neither starts nor ends with whitespace."""
    pattern = re.compile(fields.TEXT_SHAPE)
    alphabet = ["a", "长", ",", "\n", " ", "\t", "\r", "\u3000"]
    for length in range(6):
        for letters in itertools.product(alphabet, repeat=length):
            value = "".join(letters)
            wanted = (
                value != "" and value == value.strip() and "," not in value and "\n" not in value
            )
            assert bool(pattern.fullmatch(value)) == wanted, repr(value)
