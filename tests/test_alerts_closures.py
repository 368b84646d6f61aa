"""A stale source is not alerted while the academic calendar says it is quiet (the library
closed around the Spring Festival, no events in a vacation): the night records it as excused,
naming the period. Once it stays stale past the closure by more than its allowed lag, the alert
goes out. Through a real `dbt source freshness` on a real warehouse, to a real SMTP server."""

from __future__ import annotations

import html
from datetime import timedelta

import psycopg

from libcrm import pipeline
from tests.smtp_support import smtp_server
from tests.year_support import period

CLOSURE = period("2026 spring festival closure")
VACATION = period("2026 winter vacation")
TABLES = ("events.event_registrations", "gate.gate_passages", "ils.holds", "ils.loans")


def _raw_rows_before_the_closure(url: str) -> None:
    """The last loan, hold and passage on the day before the closure; the last registration
    on the day before the vacation."""
    eve = (CLOSURE["first_day"] - timedelta(days=1)).isoformat()
    before_vacation = (VACATION["first_day"] - timedelta(days=1)).isoformat()
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into raw.loans (batch_id, source_line, loan_id, user_key, patron_id, "
            "item_id, checkout_at) values (1, 2, 'L1', 'k', 'P1', 'I1', %s)",
            [f"{eve} 18:00"],
        )
        conn.execute(
            "insert into raw.holds (batch_id, source_line, hold_id, user_key, patron_id, "
            "item_id, placed_at, status) values (1, 2, 'H1', 'k', 'P1', 'I1', %s, 'waiting')",
            [f"{eve} 12:00"],
        )
        conn.execute(
            "insert into raw.gate_passages (batch_id, source_line, card_number, passed_at, "
            "direction) values (2, 2, 'C1', %s, 'in')",
            [f"{eve} 20:00"],
        )
        conn.execute(
            "insert into raw.event_registrations (batch_id, source_line, registration_id, "
            "event_id, barcode, registered_at, attendance) "
            "values (3, 2, 'R1', 'E1', 'C1', %s, 'registered')",
            [f"{before_vacation} 10:00"],
        )


def _recorded(url: str, day) -> dict[str, tuple[str, str | None, bool]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "select source_name || '.' || table_name, status, excused_because, "
            "alerted_at is not null from quality.source_freshness where data_date = %s",
            [day],
        ).fetchall()
    return {name: (status, reason, alerted) for name, status, reason, alerted in rows}


def test_a_closure_excuses_the_quiet_sources_until_they_stay_stale_past_it(
    fresh_warehouse_url, monkeypatch, tmp_path
):
    _raw_rows_before_the_closure(fresh_warehouse_url)
    monkeypatch.setenv("LIBCRM_DATABASE_URL", fresh_warehouse_url)
    monkeypatch.setenv("LIBCRM_LANDING_DIR", str(tmp_path / "landing"))
    last_closed = CLOSURE["last_day"]
    reopened = last_closed + timedelta(days=1)  # one day without records: within the 2 allowed
    stale_past = last_closed + timedelta(days=3)  # three: beyond
    with smtp_server() as (inbox, smtp):
        for name, value in smtp.items():
            monkeypatch.setenv(name, value)
        closed = pipeline.check_freshness(last_closed, "manual__closed")
        assert inbox.messages == [], "no alert while the calendar says the library is closed"
        first_day_open = pipeline.check_freshness(reopened, "manual__reopened")
        assert inbox.messages == [], "nor on the first day after it, within the allowed lag"
        late = pipeline.check_freshness(stale_past, "manual__late")

    assert closed == {"error": 4, "excused": 4}, closed
    assert first_day_open == {"error": 4, "excused": 4}, first_day_open
    assert late == {"error": 4}, late
    for day in (last_closed, reopened):
        recorded = _recorded(fresh_warehouse_url, day)
        assert sorted(recorded) == list(TABLES)
        for table, (status, reason, alerted) in recorded.items():
            assert status == "error" and not alerted, table
            assert reason.startswith("quiet during "), table
            assert "2026 spring festival closure (closure, 2026-02-15 to 2026-02-22)" in reason
        assert (
            "2026 winter vacation (vacation, 2026-01-19 to 2026-02-22)"
            in (recorded["events.event_registrations"][1])
        )
        assert "vacation" not in recorded["gate.gate_passages"][1]  # the gate is open then
    assert (
        "1.2 of its 9.2 days without a record fall outside, within the 2 days allowed"
        in (_recorded(fresh_warehouse_url, reopened)["gate.gate_passages"][1])
    )

    assert len(inbox.messages) == 1
    assert inbox.messages[0]["Subject"] == (
        f"[libcrm] stale source for {stale_past}: {', '.join(TABLES)}"
    )
    body = html.unescape(inbox.body())
    assert (
        f"gate.gate_passages: stopped: newest record {CLOSURE['first_day'] - timedelta(1)} 20:00"
        in body
    )
    assert _recorded(fresh_warehouse_url, stale_past) == {
        table: ("error", None, True) for table in TABLES
    }
