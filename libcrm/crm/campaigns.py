"""Campaigns: an audience, a goal, a window and a random control group, measured night by night.

Launch freezes the audience's members of the launch night and draws the control group (not
contacted) with the campaign's stored seed, so the draw can be repeated and checked. Each
night in the window compares the share of each group that reached the goal.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import psycopg
from psycopg import sql

from libcrm.crm import goals, group_counts
from libcrm.crm.definitions import Definition
from libcrm.crm.stats import difference_interval

DEFAULT_CONTROL_SHARE = Decimal("0.10")  # the usual hold-out: most reached, a group to compare

# Audiences from practice, to start a campaign from.
TEMPLATES: dict[str, Definition] = {
    "welcome_new_cohort": Definition(all=[{"field": "stage", "op": "eq", "value": "new"}]),
    "win_back_growth": Definition(
        all=[
            {"field": "segment", "op": "eq", "value": "growth"},
            {"field": "stage", "op": "in", "value": ["at_risk", "lapsed"]},
        ]
    ),
    "invite_opinion_leaders": Definition(
        all=[{"field": "opinion_leader", "op": "eq", "value": True}]
    ),
    "quarter_prize_list": Definition(
        all=[{"field": "leaderboard_place", "op": "lte", "value": 10, "metric": "loans"}]
    ),
}


class CampaignError(Exception):
    """The campaign cannot do that in its present state (nothing was changed)."""


@dataclass(frozen=True)
class Launch:
    """A launched campaign's frozen groups."""

    campaign_id: int
    night: date
    contacted: int
    control: int


@dataclass(frozen=True)
class CampaignResult:
    """Goal reached by each group over ``[window_start, last_day]`` as of ``night``;
    ``difference`` = contacted share - control share with its 95% interval (None when a group
    is empty); ``final`` once the window has ended."""

    campaign_id: int
    night: date
    window_start: date
    last_day: date
    contacted: int
    contacted_reached: int
    control: int
    control_reached: int
    difference: float | None
    ci_low: float | None
    ci_high: float | None
    final: bool


def control_size(members: int, share: Decimal) -> int:
    """round(share x members), half up, but at least 1 when there are two members or more
    and never all of them."""
    if members < 2:
        return 0
    size = int((share * members).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(max(size, 1), members - 1)


def draw_control(user_keys: list[str], share: Decimal, seed: int) -> set[str]:
    """The control group: a seeded draw without replacement over the sorted user_keys."""
    ordered = sorted(user_keys)
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(ordered), size=control_size(len(ordered), share), replace=False)
    return {ordered[index] for index in chosen.tolist()}


def create(
    conn: psycopg.Connection,
    *,
    name: str,
    audience_id: int,
    goal: goals.Goal | dict,
    window_start: date,
    window_end: date,
    created_by: str,
    control_share: Decimal | float | str = DEFAULT_CONTROL_SHARE,
    seed: int | None = None,
) -> int:
    """Save a draft campaign; return its ``campaign_id``. Without a ``seed`` one is drawn and
    stored.

    Raises
    ------
    ValueError
        For an empty name, a window ending before it starts, a control share outside (0, 0.5]
        or an invalid goal.
    CampaignError
        When the audience does not exist or is archived.
    """
    checked = goals.parse(goal)
    share = Decimal(str(control_share))
    if not name or not name.strip():
        raise ValueError("a campaign needs a name")
    if window_end < window_start:
        raise ValueError(f"the window ends ({window_end}) before it starts ({window_start})")
    if not Decimal(0) < share <= Decimal("0.5"):
        raise ValueError(f"the control share is above 0 and at most 0.5, not {share}")
    archived = conn.execute(
        "select archived from workspace.audiences where audience_id = %s", [audience_id]
    ).fetchone()
    if archived is None or archived[0]:
        raise CampaignError(f"audience {audience_id} does not exist or is archived")
    return conn.execute(
        "insert into workspace.campaigns (name, audience_id, goal, window_start, window_end, "
        "control_share, seed, created_by) values (%s, %s, %s::jsonb, %s, %s, %s, %s, %s) "
        "returning campaign_id",
        [
            name.strip(),
            audience_id,
            checked.model_dump_json(),
            window_start,
            window_end,
            share,
            secrets.randbits(62) if seed is None else seed,
            created_by,
        ],
    ).fetchone()[0]


def launch(conn: psycopg.Connection, campaign_id: int, username: str, night: date) -> Launch:
    """Freeze the audience's members of ``night`` into the campaign, with its control group.

    Raises
    ------
    CampaignError
        When the campaign does not exist, was launched before, its window does not start after
        ``night``, or the audience has no members recorded for ``night``.
    """
    with conn.transaction():
        row = conn.execute(
            "select audience_id, status, control_share, seed, window_start, launch_night "
            "from workspace.campaigns where campaign_id = %s for update",
            [campaign_id],
        ).fetchone()
        if row is None:
            raise CampaignError(f"campaign {campaign_id} does not exist")
        audience_id, status, share, seed, window_start, launched_on = row
        if status != "draft":
            raise CampaignError(
                f"campaign {campaign_id} was launched on night {launched_on}; a campaign is "
                "launched once (create a new one to run it again)"
            )
        if window_start <= night:
            raise CampaignError(
                f"campaign {campaign_id}: the window starts {window_start}, not after the "
                f"launch night {night}; goals reached before contact say nothing of the campaign"
            )
        keys = [
            key
            for (key,) in conn.execute(
                "select user_key from workspace.audience_members "
                "where audience_id = %s and night = %s order by user_key",
                [audience_id, night],
            )
        ]
        if not keys:
            raise CampaignError(
                f"campaign {campaign_id}: audience {audience_id} has no members recorded for "
                f"night {night} (empty, or not evaluated that night)"
            )
        control = draw_control(keys, share, seed)
        with conn.cursor().copy(
            "copy workspace.campaign_members (campaign_id, user_key, in_control) from stdin"
        ) as copy:
            for key in keys:
                copy.write_row([campaign_id, key, key in control])
        conn.execute(
            "update workspace.campaigns set status = 'launched', launched_at = now(), "
            "launched_by = %s, launch_night = %s where campaign_id = %s",
            [username, night, campaign_id],
        )
        group_counts.record_campaign(conn, campaign_id)
    return Launch(campaign_id, night, len(keys) - len(control), len(control))


def measure(conn: psycopg.Connection, campaign_id: int, night: date) -> CampaignResult:
    """Count goal reached per group up to ``night`` (within the window) from the marts'
    facts, store the result for ``night`` (an upsert: running a night again replaces it) and
    mark the campaign measured once ``night`` reaches the window's end.

    Raises
    ------
    CampaignError
        When the campaign does not exist, is not launched, or its window has not started.
    """
    with conn.transaction():
        row = conn.execute(
            "select status, goal, window_start, window_end from workspace.campaigns "
            "where campaign_id = %s for update",
            [campaign_id],
        ).fetchone()
        if row is None or row[0] == "draft":
            raise CampaignError(f"campaign {campaign_id} does not exist or is not launched")
        _, goal, window_start, window_end = row
        if night < window_start:
            raise CampaignError(
                f"campaign {campaign_id}: its window starts {window_start}, after night {night}"
            )
        last_day = min(window_end, night)
        condition, params = goals.reached(goals.parse(goal), window_start, last_day)
        counts = {False: (0, 0), True: (0, 0)}
        query = sql.SQL(
            "select members.in_control, count(*), count(*) filter (where {}) "
            "from workspace.campaign_members as members where members.campaign_id = %s "
            "group by members.in_control"
        ).format(condition)
        for in_control, size, reached in conn.execute(query, [*params, campaign_id]):
            counts[in_control] = (size, reached)
        (contacted, contacted_reached), (control, control_reached) = counts[False], counts[True]
        interval = (None, None, None)
        if contacted and control:
            interval = difference_interval(contacted_reached, contacted, control_reached, control)
        result = CampaignResult(
            campaign_id,
            night,
            window_start,
            last_day,
            contacted,
            contacted_reached,
            control,
            control_reached,
            *interval,
            final=night >= window_end,
        )
        _store(conn, result)
    return result


def _store(conn: psycopg.Connection, result: CampaignResult) -> None:
    conn.execute(
        """
        insert into workspace.campaign_results (campaign_id, night, contacted,
            contacted_reached, control, control_reached, difference, ci_low, ci_high)
        values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
        on conflict (campaign_id, night) do update set
            contacted = excluded.contacted, contacted_reached = excluded.contacted_reached,
            control = excluded.control, control_reached = excluded.control_reached,
            difference = excluded.difference, ci_low = excluded.ci_low,
            ci_high = excluded.ci_high, measured_at = now()
        """,
        [
            result.campaign_id,
            result.night,
            result.contacted,
            result.contacted_reached,
            result.control,
            result.control_reached,
            result.difference,
            result.ci_low,
            result.ci_high,
        ],
    )
    if result.final:
        conn.execute(
            "update workspace.campaigns set status = 'measured' where campaign_id = %s",
            [result.campaign_id],
        )


def measure_all(conn: psycopg.Connection, night: date) -> list[CampaignResult]:
    """Measure every launched campaign whose window has started by ``night``."""
    launched = conn.execute(
        "select campaign_id from workspace.campaigns "
        "where status = 'launched' and window_start <= %s order by campaign_id",
        [night],
    ).fetchall()
    return [measure(conn, campaign_id, night) for (campaign_id,) in launched]
