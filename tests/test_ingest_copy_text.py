"""The loader writes every row as COPY text through one escaper: raw rows (values separated by
',') and quarantined rows (separated by a tab) must both read back exactly as given."""

from __future__ import annotations

import psycopg
import pytest

from libcrm.ingest.chunks import COPY_OPTIONS, copy_escape

AWKWARD = [
    "plain",
    "a,b",
    "tab\there",
    "line\nbreak",
    "carriage\rreturn",
    "back\\slash",
    "\\N",
    "\\.",
    "\\t\\n",
    ",\t\\\r\n",
]


@pytest.mark.parametrize("options", [COPY_OPTIONS, "format text"], ids=["raw", "quarantine"])
def test_copy_escape_reads_back_verbatim_whatever_separates_the_values(warehouse_url, options):
    separator = "," if "delimiter ','" in options else "\t"
    with psycopg.connect(warehouse_url) as conn:
        conn.execute("create temporary table escaped (first text, second text)")
        with conn.cursor().copy(f"copy escaped from stdin ({options})") as copy:  # noqa: S608
            for value in AWKWARD:
                copy.write(f"{copy_escape(value)}{separator}{copy_escape(value[::-1])}\n")
        stored = conn.execute("select first, second from escaped").fetchall()
    assert stored == [(value, value[::-1]) for value in AWKWARD]
