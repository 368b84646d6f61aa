"""The demo's campaign: launched after the first night, on readers the simulator then reaches.

After the first night the demo saves an audience, launches a campaign on it, exports the
contacted readers' cards through ``workspace.campaign_contacts`` as an ``outreach`` account
(audited like any export) and hands them to the simulator as an :class:`Outreach`; the later
nights' pipeline measures the campaign. Running the demo again reuses the campaign.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg

from libcrm import db
from libcrm.crm import audiences, campaigns
from libcrm.tooling.simulate import Outreach
from libcrm.workspace import accounts

# Growth and short-term readers: about 170 of the small library's 400 patrons, enough for a
# control group of some 17 (a tenth) to compare with.
AUDIENCE_NAME = "Growth and short-term readers"
AUDIENCE = {"all": [{"field": "segment", "op": "in", "value": ["growth", "short_term"]}]}
CAMPAIGN_NAME = "Spring reading week"
GOAL = {"kind": "borrow_any"}
CONTROL_SHARE = Decimal("0.10")
CONTROL_SEED = 20260316  # stored with the campaign: the demo draws the same control group
CREATED_BY = "demo"
OUTREACH_USER = "demo-outreach"
EXPORT_REASON = "demo: the simulated library's message to the contacted readers"


@dataclass(frozen=True)
class Launched:
    """The demo campaign as launched: its groups and the cards of the contacted readers."""

    campaign_id: int
    contacted: int
    control: int
    cards: tuple[str, ...]

    def outreach(self, first_day: date, last_day: date) -> Outreach:
        """The simulator's view: these cards were sent a message for that window."""
        return Outreach(self.cards, first_day, last_day)


def ensure_outreach_account(conn: psycopg.Connection) -> str:
    """Create the demo's ``outreach`` account if missing; return its user name.

    Its password is random and not kept: the account exists to export, not to sign in.
    """
    exists = conn.execute(
        "select 1 from workspace.accounts where username = %s", [OUTREACH_USER]
    ).fetchone()
    if not exists:
        accounts.create_account(
            conn, OUTREACH_USER, "outreach", accounts.new_password(), CREATED_BY, "Demo outreach"
        )
    return OUTREACH_USER


def launch(url: str, night: date, window_start: date, window_end: date) -> Launched:
    """Launch the demo campaign on ``night`` (or find it launched) and export its contacts.

    Parameters
    ----------
    url : str
        The warehouse, with the marts of ``night`` built.
    night : datetime.date
        The launch night.
    window_start, window_end : datetime.date
        The campaign's window (both days included), after ``night``.

    Returns
    -------
    Launched
        The campaign's groups and the contacted readers' cards.
    """
    with db.connect(url) as conn:
        username = ensure_outreach_account(conn)
        campaign_id = _campaign(conn, night, window_start, window_end)
        contacted, control = conn.execute(
            "select count(*) filter (where not in_control), count(*) filter (where in_control) "
            "from workspace.campaign_members where campaign_id = %s",
            [campaign_id],
        ).fetchone()
        rows = conn.execute(
            "select barcode from workspace.campaign_contacts(%s, %s, %s)",
            [campaign_id, username, EXPORT_REASON],
        ).fetchall()
    return Launched(campaign_id, contacted, control, tuple(barcode for (barcode,) in rows))


def _campaign(conn: psycopg.Connection, night: date, window_start: date, window_end: date) -> int:
    """The demo campaign launched on ``night``: the one of an earlier run, or a new one."""
    found = conn.execute(
        "select campaign_id from workspace.campaigns where name = %s and launch_night = %s "
        "order by campaign_id desc limit 1",
        [CAMPAIGN_NAME, night],
    ).fetchone()
    if found:
        return found[0]
    audience_id = audiences.create(conn, AUDIENCE_NAME, AUDIENCE, CREATED_BY)
    audiences.evaluate_all(conn, night)  # the night ran before the audience existed
    campaign_id = campaigns.create(
        conn,
        name=CAMPAIGN_NAME,
        audience_id=audience_id,
        goal=GOAL,
        window_start=window_start,
        window_end=window_end,
        created_by=CREATED_BY,
        control_share=CONTROL_SHARE,
        seed=CONTROL_SEED,
    )
    campaigns.launch(conn, campaign_id, CREATED_BY, night)
    return campaign_id


def result_line(conn: psycopg.Connection, truth_path: Path) -> str | None:
    """One line: the demo campaign's last result and the effect planted in ``truth_path``."""
    row = conn.execute(
        "select campaigns.name, results.night, results.contacted, results.contacted_reached, "
        "results.control, results.control_reached, results.difference, results.ci_low, "
        "results.ci_high from workspace.campaign_results as results "
        "join workspace.campaigns as campaigns using (campaign_id) "
        "where campaigns.name = %s order by results.measured_at desc limit 1",
        [CAMPAIGN_NAME],
    ).fetchone()
    if row is None:
        return None
    name, night, contacted, reached, control, control_reached, difference, low, high = row
    truth = json.loads(truth_path.read_text()) if truth_path.exists() else {}
    planted = truth.get("outreach", {}).get("effect")
    shown = "n/a" if difference is None else f"{difference:+.3f} (95% CI {low:+.3f} .. {high:+.3f})"
    return (
        f"campaign   {name} (as of {night}): contacted {contacted} ({reached} borrowed), "
        f"control {control} ({control_reached} borrowed), difference {shown}; "
        f"planted effect {'n/a' if planted is None else f'{planted:+.3f}'} (truth.json)"
    )
