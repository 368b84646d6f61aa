"""The demo's campaign on a simulated small library, night by night in-process: launched after
the first night, its contacted readers reached by the simulator, measured on the last night.
The measured difference's interval holds the effect the simulator planted, and 0 when nobody
answers the message."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from libcrm import crm, db, ingest, transform
from libcrm.crm import campaigns
from libcrm.tooling import demo_campaign
from libcrm.tooling.simulate import Outreach, simulate
from tests.test_dbt_marts import SOURCES, separate_dbt_folders

FIRST_DAY = date(2026, 3, 16)
NIGHTS = [FIRST_DAY + timedelta(days=offset) for offset in range(3)]
WINDOW = (NIGHTS[1], NIGHTS[-1])


def night(url: str, landing: Path, day: date) -> None:
    """The night's pipeline steps that campaigns need: load, build the marts, then the
    workspace's nightly work (audience members, campaign results)."""
    for source in SOURCES:
        ingest.ingest_source(source, day, url, landing)
    transform.build(day, url)
    with db.connect(url) as conn:
        crm.nightly(conn, day)


def run_campaign(url: str, folder: Path, response_rate: float) -> dict:
    """Simulate, run the first night, launch the demo campaign, simulate again with its
    contacted readers reached, run the other nights; return what was measured and planted."""
    landing, truth = folder / "landing", folder / "truth.json"
    simulate(landing, truth, scale="small", first_day=FIRST_DAY, days=len(NIGHTS), seed=42)
    with separate_dbt_folders(folder / "dbt"):
        night(url, landing, NIGHTS[0])
        launched = demo_campaign.launch(url, NIGHTS[0], *WINDOW)
        outreach = Outreach(launched.cards, *WINDOW, response_rate=response_rate)
        simulate(
            landing, truth, scale="small", first_day=FIRST_DAY, days=len(NIGHTS), seed=42,
            outreach=outreach,
        )  # fmt: skip
        for day in NIGHTS[1:]:
            night(url, landing, day)
    with db.connect(url) as conn:
        result = campaigns.measure(conn, launched.campaign_id, NIGHTS[-1])
        stored = conn.execute(
            "select count(*) from workspace.campaign_results where campaign_id = %s",
            [launched.campaign_id],
        ).fetchone()[0]
        exports = conn.execute(
            "select username, role, row_count from workspace.audit_log "
            "where action = 'export_contacts'"
        ).fetchall()
        members = conn.execute(
            "select user_key, in_control from workspace.campaign_members where campaign_id = %s",
            [launched.campaign_id],
        ).fetchall()
        line = demo_campaign.result_line(conn, truth)
    return {
        "launched": launched,
        "result": result,
        "nights_measured": stored,
        "exports": exports,
        "members": members,
        "planted": json.loads(truth.read_text())["outreach"],
        "line": line,
    }


def test_the_measured_interval_holds_the_planted_effect(fresh_warehouse_url, tmp_path):
    run = run_campaign(fresh_warehouse_url, tmp_path, response_rate=0.3)
    launched, result, planted = run["launched"], run["result"], run["planted"]
    assert launched.contacted + launched.control >= 150
    assert result.final and run["nights_measured"] == 2  # measured by the pipeline each night
    assert (result.contacted, result.control) == (launched.contacted, launched.control)
    # The contact export went through the audited path, as the outreach account.
    assert run["exports"] == [(demo_campaign.OUTREACH_USER, "outreach", len(launched.cards))]
    assert planted["contacted"] == len(launched.cards)
    assert planted["outreach_loans"] > 0 and planted["effect"] > 0
    assert result.ci_low <= planted["effect"] <= result.ci_high
    assert f"planted effect {planted['effect']:+.3f}" in run["line"]
    assert f"{result.difference:+.3f}" in run["line"]


def test_when_nobody_answers_the_interval_holds_zero(fresh_warehouse_url, tmp_path):
    run = run_campaign(fresh_warehouse_url, tmp_path, response_rate=0.0)
    result, planted = run["result"], run["planted"]
    assert planted["effect"] == 0 and planted["outreach_loans"] == 0
    assert result.ci_low <= 0 <= result.ci_high
    # The stored seed gives the frozen control group again.
    keys = [key for key, _ in run["members"]]
    control = {key for key, in_control in run["members"] if in_control}
    assert campaigns.draw_control(
        keys, demo_campaign.CONTROL_SHARE, demo_campaign.CONTROL_SEED
    ) == (control)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_control_group_is_the_same_for_a_seed_and_another_for_another_seed(seed):
    keys = [f"user{n:04d}" for n in range(170)]
    share = demo_campaign.CONTROL_SHARE
    drawn = campaigns.draw_control(keys, share, seed)
    assert len(drawn) == 17 and drawn <= set(keys)
    assert campaigns.draw_control(list(reversed(keys)), share, seed) == drawn
    assert campaigns.draw_control(keys, share, seed + 100) != drawn
