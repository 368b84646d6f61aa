"""The overview's data freshness panel on a real server: a source the academic calendar
excused (``quality.source_freshness.excused_because``) reads as quiet, with the reason, in
English and Chinese; a stopped source that was not excused still reads as stopped."""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta

import psycopg
import pytest

from libcrm.workspace import i18n
from tests import workspace_support as ws

TEST_RUN = "freshness-panel-test"
REASON = (
    "quiet during 2026 spring festival closure (closure, 2026-02-15 to 2026-02-22): "
    "0.0 of its 8.0 days without a record fall outside, within the 2 days allowed"
)
ROW = re.compile(r"<tr>(.*?)</tr>", re.S)
CELL = re.compile(r"<td[^>]*>(.*?)</td>", re.S)


@pytest.fixture(scope="module")
def night(library_warehouse):
    """A night of freshness after any recorded: the first source's stopped table excused (its
    other table on time), the second's stopped tables one excused and one not; removed after.
    Yields (excused source, stopped source)."""
    with psycopg.connect(library_warehouse["url"], autocommit=True) as conn:
        excused, stopped = (
            row[0]
            for row in conn.execute(
                "select distinct source from raw.load_audit order by source limit 2"
            )
        )
        day = conn.execute(
            "select coalesce(max(data_date), %s) + 1 from quality.source_freshness",
            [ws.LAST_NIGHT],
        ).fetchone()[0]
        measured = datetime.combine(day + timedelta(days=1), datetime.min.time())
        for source, table, status, reason in (
            (excused, "a_on_time", "pass", None),
            (excused, "b_quiet", "error", REASON),
            (stopped, "a_quiet", "error", REASON),
            (stopped, "b_stopped", "error", None),
        ):
            conn.execute(
                "insert into quality.source_freshness (data_date, source_name, table_name,"
                " status, newest_record, measured_at, run_id, excused_because)"
                " values (%s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    day,
                    source,
                    table,
                    status,
                    measured - timedelta(days=8),
                    measured,
                    TEST_RUN,
                    reason,
                ],
            )
        try:
            yield excused, stopped
        finally:
            conn.execute("delete from quality.source_freshness where run_id = %s", [TEST_RUN])


def freshness_of(workspace, library_warehouse, language: str) -> dict[str, str]:
    """Per source, the Freshness cell of the overview's panel in ``language``."""
    ws.make_account(library_warehouse["url"], "freshness.panel", "librarian")
    with ws.client(workspace) as http:
        http.cookies.set(i18n.LANGUAGE_COOKIE, language)
        assert ws.sign_in(http, "freshness.panel").status_code == 303
        page = http.get("/")
    assert page.status_code == 200
    panel = page.text.split("download=freshness", 1)[-1].split("</table>")[0]
    rows = [[html.unescape(c).strip() for c in CELL.findall(r)] for r in ROW.findall(panel)]
    return {cells[0]: cells[-1] for cells in rows if cells}


@pytest.mark.parametrize(
    ("language", "quiet", "stopped"),
    [
        ("en", "quiet: 2026 spring festival closure (closure, 2026-02-15", "stopped"),
        ("zh", "按校历静默：2026 spring festival closure (closure, 2026-02-15", "已中断"),
    ],
)
def test_an_excused_source_reads_as_quiet_with_its_reason_not_stopped(
    workspace, library_warehouse, night, language, quiet, stopped
):
    excused, not_excused = night
    shown = freshness_of(workspace, library_warehouse, language)
    assert shown[excused].startswith(quiet), shown
    assert stopped not in shown[excused]
    assert shown[not_excused] == stopped, "a stopped table not excused keeps its source stopped"
