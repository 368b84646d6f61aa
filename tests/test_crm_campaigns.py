"""Campaigns on hand-built facts in a real PostgreSQL: the seeded control group, one launch
only, the goal counts and their interval, the audited contact export and who may reach it."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import psycopg
import pytest
from psycopg import errors, sql

from libcrm.crm import campaigns
from libcrm.crm.campaigns import CampaignError
from libcrm.crm.stats import difference_interval

NIGHT = date(2026, 4, 1)
WINDOW_START, WINDOW_END = date(2026, 4, 2), date(2026, 4, 15)
MEMBERS = [f"u{n:04d}" for n in range(400)]
# The planted effect: a contacted member borrows a book in the window with probability 0.5, a
# control member with 0.3 (the true difference is 0.2).
P_CONTACTED, P_CONTROL = 0.5, 0.3
WORKSPACE_TABLES = (
    "audiences",
    "audience_members",
    "campaigns",
    "campaign_members",
    "campaign_results",
    "audit_log",
    "accounts",
)


def _facts(conn: psycopg.Connection) -> None:
    """The marts' facts as dbt builds them, reduced to the columns goals read, and the
    readers' groups the campaign sizes are counted by."""
    conn.execute(
        """
        create table marts.dim_users (user_key text, department text, category text,
            enrolled_year integer);
        create table marts.fct_loans (user_key text, checkout_date date, clc_class text,
            is_book boolean);
        create table marts.fct_visits (user_key text, visit_date date);
        create table marts.fct_event_attendance (user_key text, event_id text,
            registered_at timestamptz);
        """
    )


def _audience(conn: psycopg.Connection, keys: list[str], night: date = NIGHT) -> int:
    audience_id = conn.execute(
        "insert into workspace.audiences (name, definition, created_by) "
        "values ('hand-built', '{}', 'tester') returning audience_id"
    ).fetchone()[0]
    with conn.cursor().copy("copy workspace.audience_members from stdin") as copy:
        for key in keys:
            copy.write_row([audience_id, night, key])
    return audience_id


def _campaign(conn, audience_id, goal=None, seed=7, share="0.10", window=None) -> int:
    start, end = window or (WINDOW_START, WINDOW_END)
    return campaigns.create(
        conn,
        name="reading week",
        audience_id=audience_id,
        goal=goal or {"kind": "borrow_any"},
        window_start=start,
        window_end=end,
        created_by="tester",
        control_share=share,
        seed=seed,
    )


def _groups(conn, campaign_id) -> dict[str, bool]:
    return dict(
        conn.execute(
            "select user_key, in_control from workspace.campaign_members where campaign_id = %s",
            [campaign_id],
        ).fetchall()
    )


@pytest.fixture(scope="module")
def warehouse(warehouse_url):
    with psycopg.connect(warehouse_url, autocommit=True) as conn:
        _facts(conn)
    return warehouse_url


@pytest.fixture
def conn(warehouse):
    with psycopg.connect(warehouse, autocommit=True) as connection:
        yield connection


def test_control_size_is_the_share_rounded_with_at_least_one():
    share = Decimal("0.10")
    assert [campaigns.control_size(n, share) for n in (0, 1, 2, 9, 15, 25, 100)] == [
        0,
        0,
        1,
        1,
        2,
        3,
        10,
    ]
    assert campaigns.control_size(3, Decimal("0.5")) == 2  # 1.5 rounds up, one stays contacted


def test_launch_freezes_members_with_a_seeded_reproducible_control_group(conn):
    audience_id = _audience(conn, list(reversed(MEMBERS)))
    first, same_seed, other_seed = (_campaign(conn, audience_id, seed=s) for s in (11, 11, 12))
    launched = campaigns.launch(conn, first, "outreach1", NIGHT)
    campaigns.launch(conn, same_seed, "outreach1", NIGHT)
    campaigns.launch(conn, other_seed, "outreach1", NIGHT)

    groups = _groups(conn, first)
    control = {key for key, in_control in groups.items() if in_control}
    assert set(groups) == set(MEMBERS)
    assert (launched.contacted, launched.control) == (360, 40) and len(control) == 40
    # The draw is numpy's default_rng(seed) over the sorted user_keys, so anyone can repeat it.
    expected = np.random.default_rng(11).choice(len(MEMBERS), size=40, replace=False)
    assert control == {sorted(MEMBERS)[i] for i in expected}
    assert _groups(conn, same_seed) == groups
    assert _groups(conn, other_seed) != groups
    status, by, night = conn.execute(
        "select status, launched_by, launch_night from workspace.campaigns where campaign_id = %s",
        [first],
    ).fetchone()
    assert (status, by, night) == ("launched", "outreach1", NIGHT)


def test_a_campaign_is_launched_once(conn):
    campaign_id = _campaign(conn, _audience(conn, MEMBERS[:20]))
    campaigns.launch(conn, campaign_id, "outreach1", NIGHT)
    before = _groups(conn, campaign_id)
    with pytest.raises(CampaignError, match="launched once"):
        campaigns.launch(conn, campaign_id, "outreach1", NIGHT + timedelta(days=1))
    assert _groups(conn, campaign_id) == before


def test_launch_refuses_a_window_starting_by_the_launch_night_or_an_unevaluated_night(conn):
    audience_id = _audience(conn, MEMBERS[:20])
    early = _campaign(conn, audience_id, window=(NIGHT, WINDOW_END))
    with pytest.raises(CampaignError, match="not after the launch night"):
        campaigns.launch(conn, early, "outreach1", NIGHT)
    later = _campaign(conn, audience_id)
    with pytest.raises(CampaignError, match="no members recorded"):
        campaigns.launch(conn, later, "outreach1", NIGHT - timedelta(days=1))
    assert not _groups(conn, early) and not _groups(conn, later)


def _plant_loans(conn, groups: dict[str, bool]) -> tuple[int, int]:
    """Book loans in the window with the planted probabilities, and loans that must not count
    (before the window, after it, not a book); return the members reached per group."""
    rng = np.random.default_rng(2026)
    reached = {False: 0, True: 0}
    rows = []
    for key, in_control in sorted(groups.items()):
        if rng.random() < (P_CONTROL if in_control else P_CONTACTED):
            reached[in_control] += 1
            rows.append((key, WINDOW_START + timedelta(days=int(rng.integers(0, 14))), "I", True))
        else:
            rows.append((key, WINDOW_START - timedelta(days=1), "I", True))
            rows.append((key, WINDOW_END + timedelta(days=1), "I", True))
            rows.append((key, WINDOW_START + timedelta(days=3), None, False))
    with conn.cursor().copy("copy marts.fct_loans from stdin") as copy:
        for row in rows:
            copy.write_row(row)
    return reached[False], reached[True]


def test_measure_counts_goals_in_the_window_and_the_interval_holds_the_planted_effect(conn):
    campaign_id = _campaign(conn, _audience(conn, MEMBERS), seed=99)
    campaigns.launch(conn, campaign_id, "outreach1", NIGHT)
    contacted_reached, control_reached = _plant_loans(conn, _groups(conn, campaign_id))

    result = campaigns.measure(conn, campaign_id, WINDOW_END)
    assert (result.contacted, result.control) == (360, 40)
    assert (result.contacted_reached, result.control_reached) == (
        contacted_reached,
        control_reached,
    )
    assert result.difference == pytest.approx(contacted_reached / 360 - control_reached / 40)
    assert result.ci_low < P_CONTACTED - P_CONTROL < result.ci_high
    assert result.final
    stored = conn.execute(
        "select contacted, contacted_reached, control, control_reached, difference, ci_low, "
        "ci_high from workspace.campaign_results where campaign_id = %s and night = %s",
        [campaign_id, WINDOW_END],
    ).fetchone()
    counts = (360, contacted_reached, 40, control_reached)
    assert stored == (*counts, result.difference, result.ci_low, result.ci_high)
    status = conn.execute(
        "select status from workspace.campaigns where campaign_id = %s", [campaign_id]
    ).fetchone()[0]
    assert status == "measured"
    # Measuring the night again replaces its row rather than adding one.
    campaigns.measure(conn, campaign_id, WINDOW_END)
    rows = conn.execute(
        "select count(*) from workspace.campaign_results where campaign_id = %s", [campaign_id]
    ).fetchone()[0]
    assert rows == 1


def test_measure_mid_window_counts_only_days_up_to_the_night(conn):
    keys = [f"mid{n}" for n in range(10)]
    campaign_id = _campaign(conn, _audience(conn, keys), goal={"kind": "visit"}, share="0.5")
    campaigns.launch(conn, campaign_id, "outreach1", NIGHT)
    with conn.cursor().copy("copy marts.fct_visits from stdin") as copy:
        for n, key in enumerate(keys):
            copy.write_row([key, WINDOW_START + timedelta(days=n)])  # day n of the window
    night = WINDOW_START + timedelta(days=3)
    result = campaigns.measure(conn, campaign_id, night)
    assert result.contacted_reached + result.control_reached == 4  # days 0 to 3
    assert not result.final
    assert [r.campaign_id for r in campaigns.measure_all(conn, night)].count(campaign_id) == 1
    assert campaigns.measure_all(conn, WINDOW_START - timedelta(days=1)) == []


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        ({"kind": "borrow_any"}, {"g0", "g1"}),
        ({"kind": "borrow_clc", "clc_class": "I"}, {"g0"}),
        ({"kind": "event_signup", "event_id": "E1"}, {"g2"}),
    ],
)
def test_each_goal_reads_its_own_fact(conn, goal, expected):
    keys = [f"g{n}" for n in range(4)]
    conn.execute("delete from marts.fct_loans where user_key like 'g%%'")
    conn.execute("delete from marts.fct_event_attendance where user_key like 'g%%'")
    loans = [("g0", "I", True), ("g1", "K", True), ("g3", "I", False)]
    day = WINDOW_START + timedelta(days=1)
    for key, clc_class, is_book in loans:
        conn.execute(
            "insert into marts.fct_loans values (%s, %s, %s, %s)", [key, day, clc_class, is_book]
        )
    for key, event_id, registered in [
        ("g2", "E1", datetime(2026, 4, 5, 10)),
        ("g1", "E2", datetime(2026, 4, 5, 10)),  # another event
        ("g3", "E1", datetime(2026, 3, 20, 10)),  # before the window
    ]:
        conn.execute(
            "insert into marts.fct_event_attendance values (%s, %s, %s)",
            [key, event_id, registered],
        )
    # With share 0.5 of 4 members the groups are 2 and 2; whom each counts depends on the draw.
    campaign_id = _campaign(conn, _audience(conn, keys), goal=goal, share="0.5")
    campaigns.launch(conn, campaign_id, "outreach1", NIGHT)
    groups = _groups(conn, campaign_id)
    result = campaigns.measure(conn, campaign_id, WINDOW_END)
    assert result.control_reached == sum(groups[key] for key in expected)
    assert result.contacted_reached == sum(not groups[key] for key in expected)


def test_invalid_goal_window_or_share_is_refused(conn):
    audience_id = _audience(conn, MEMBERS[:5])
    with pytest.raises(ValueError, match="kind"):
        _campaign(conn, audience_id, goal={"kind": "borrow_everything"})
    with pytest.raises(ValueError, match="clc_class"):
        _campaign(conn, audience_id, goal={"kind": "borrow_clc"})
    with pytest.raises(ValueError, match="before it starts"):
        _campaign(conn, audience_id, window=(WINDOW_END, WINDOW_START))
    with pytest.raises(ValueError, match="control share"):
        _campaign(conn, audience_id, share="0")


def test_newcombe_interval_matches_the_published_worked_examples():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, method 10.
    difference, low, high = difference_interval(56, 70, 48, 80)
    assert (round(difference, 4), round(low, 4), round(high, 4)) == (0.2, 0.0524, 0.3339)
    difference, low, high = difference_interval(9, 10, 3, 10)
    assert (round(difference, 4), round(low, 4), round(high, 4)) == (0.6, 0.1705, 0.8090)


# --- the contact export -------------------------------------------------------------------


@pytest.fixture(scope="module")
def exported(warehouse):
    """A launched campaign of 20 patrons: the ILS exported them twice (the second export
    changes one e-mail and opts one contacted patron out), and three accounts."""
    keys = [f"c{n:02d}" for n in range(20)]
    with psycopg.connect(warehouse, autocommit=True) as conn:
        for batch, changes in ((1, {}), (2, {"c01": ("new@example.org", False)})):
            for line, key in enumerate(keys, start=1):
                email, opt_out = changes.get(key, (f"{key}@example.org", False))
                conn.execute(
                    "insert into raw.patrons (batch_id, source_line, user_key, patron_id, "
                    "barcode, name, email, category, registered_on, opt_out) "
                    "values (%s, %s, %s, %s, %s, %s, %s, 'undergraduate', '2025-09-01', %s)",
                    [batch, line, key, f"P{key}", f"B{key}", f"Name {key}", email, opt_out],
                )
        for key in keys:
            conn.execute(
                "insert into identity.patron_keys (user_key, patron_id, barcode) "
                "values (%s, %s, %s)",
                [key, f"P{key}", f"B{key}"],
            )
        for username, role, disabled in (
            ("lib1", "librarian", False),
            ("out1", "outreach", False),
            ("out2", "outreach", True),
        ):
            conn.execute(
                "insert into workspace.accounts (username, display_name, role, password_hash, "
                "disabled, created_by) values (%s, %s, %s, 'x', %s, 'admin')",
                [username, username, role, disabled],
            )
        campaign_id = _campaign(conn, _audience(conn, keys), seed=5, share="0.2")
        campaigns.launch(conn, campaign_id, "out1", NIGHT)
        groups = _groups(conn, campaign_id)
        contacted = sorted(key for key, in_control in groups.items() if not in_control)
        # The first contacted patron opts out after the launch, in a third export.
        conn.execute(
            "insert into raw.patrons (batch_id, source_line, user_key, patron_id, barcode, "
            "name, email, category, registered_on, opt_out) values "
            "(3, 1, %s, %s, %s, 'Gone', 'gone@example.org', 'undergraduate', '2025-09-01', true)",
            [contacted[0], f"P{contacted[0]}", f"B{contacted[0]}"],
        )
    return {"campaign": campaign_id, "contacted": contacted, "url": warehouse}


def _export(url: str, campaign_id: int, username: str, reason: str, role="libcrm_workspace"):
    with psycopg.connect(url) as conn:
        conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
        return conn.execute(
            "select name, email, barcode from workspace.campaign_contacts(%s, %s, %s)",
            [campaign_id, username, reason],
        ).fetchall()


def _audit(url: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select username, role, action, reason, detail, row_count from workspace.audit_log "
            "where action = 'export_contacts' order by audit_id"
        ).fetchall()


@pytest.mark.parametrize(
    ("username", "reason", "refusal"),
    [
        ("lib1", "reading week mailing", errors.InsufficientPrivilege),
        ("out2", "reading week mailing", errors.InsufficientPrivilege),
        ("nobody", "reading week mailing", errors.InsufficientPrivilege),
        ("out1", "  ", errors.InvalidParameterValue),
    ],
)
def test_contact_export_is_refused_without_outreach_or_reason(exported, username, reason, refusal):
    before = _audit(exported["url"])
    with pytest.raises(refusal):
        _export(exported["url"], exported["campaign"], username, reason)
    assert _audit(exported["url"]) == before


def test_outreach_exports_contacted_patrons_not_opted_out_with_one_audit_row(exported):
    url, campaign_id, contacted = exported["url"], exported["campaign"], exported["contacted"]
    before = _audit(url)
    rows = _export(url, campaign_id, "out1", "reading week mailing")
    expected = [key for key in contacted if key != contacted[0]]  # opted out since launch
    assert sorted(barcode for _, _, barcode in rows) == sorted(f"B{key}" for key in expected)
    emails = {barcode: email for _, email, barcode in rows}
    if "c01" in expected:
        assert emails["Bc01"] == "new@example.org"  # the latest export's address
    assert len(contacted) == 16  # 20% of 20 are held back as control and never exported
    audit = _audit(url)
    assert audit[: len(before)] == before and len(audit) == len(before) + 1
    assert audit[-1] == (
        "out1",
        "outreach",
        "export_contacts",
        "reading week mailing",
        {"campaign_id": campaign_id},
        len(expected),
    )


def test_portal_reaches_no_workspace_table_nor_the_export(exported):
    url = exported["url"]
    for table in WORKSPACE_TABLES:
        with pytest.raises(errors.InsufficientPrivilege), psycopg.connect(url) as conn:
            conn.execute("set role libcrm_portal")
            conn.execute(sql.SQL("select 1 from {}").format(sql.Identifier("workspace", table)))
    with pytest.raises(errors.InsufficientPrivilege):
        _export(url, exported["campaign"], "out1", "reason", role="libcrm_portal")


def test_workspace_reads_no_contact_data_directly_and_cannot_erase_the_audit(exported):
    for statement in (
        "select 1 from raw.patrons",
        "select 1 from identity.patron_keys",
        "delete from workspace.audit_log",
        "update workspace.campaign_members set in_control = not in_control",
    ):
        with pytest.raises(errors.InsufficientPrivilege), psycopg.connect(exported["url"]) as conn:
            conn.execute("set role libcrm_workspace")
            conn.execute(statement)
