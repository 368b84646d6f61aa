"""Campaigns: the list and the new-campaign form, one campaign's groups and measured result,
its launch, and the audited contact-list export for outreach."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated

import psycopg
from fastapi import APIRouter, Form, HTTPException
from fastapi.responses import RedirectResponse
from psycopg import sql

from libcrm.crm import campaigns
from libcrm.workspace import builder, charts, filters, results, web
from libcrm.workspace.i18n import gettext as _
from libcrm.workspace.pages.audiences import last_night

router = APIRouter(prefix="/campaigns")

DEFAULT_WINDOW = timedelta(days=28)  # four weeks: long enough for a reader to come and borrow

# The group sizes sum the members counted per group at launch and every night since
# (workspace.campaign_sizes), not the frozen member lists.
LIST = sql.SQL("""
with sizes as (
    select g.campaign_id, sum(g.contacted) as contacted, sum(g.control) as control
    from workspace.campaign_sizes as g
    where {where} and (%(campaign)s::bigint is null or g.campaign_id = %(campaign)s)
    group by g.campaign_id
)
select c.campaign_id, c.name, a.audience_id, a.name as audience, c.status, c.goal,
    c.window_start, c.window_end, c.control_share, c.seed, c.created_by, c.launch_night,
    c.launched_by, coalesce(s.contacted, 0) as contacted, coalesce(s.control, 0) as control
from workspace.campaigns as c
inner join workspace.audiences as a on c.audience_id = a.audience_id
left join sizes as s on c.campaign_id = s.campaign_id
where %(campaign)s::bigint is null or c.campaign_id = %(campaign)s
order by c.campaign_id desc
""")
CSV_COLUMNS = ["campaign_id", "name", "audience", "status", "goal", "window_start", "window_end"]


def listing(page: web.Page, chosen: filters.Filters, campaign_id: int | None = None) -> list:
    """The campaigns (or one) as dicts, with group sizes of the filtered readers."""
    where, params = chosen.where("g")
    cursor = page.conn.execute(LIST.format(where=where), {**params, "campaign": campaign_id})
    found = web.Table.of(cursor).dicts()
    titles = event_titles(page.conn, [c["goal"].get("event_id") for c in found])
    for campaign in found:
        campaign["event_title"] = titles.get(campaign["goal"].get("event_id"))
        campaign["goal_words"] = results.goal_words(campaign["goal"], campaign["event_title"])
    return found


def event_titles(conn: psycopg.Connection, event_ids: list) -> dict[str, str]:
    wanted = [e for e in event_ids if e]
    if not wanted:
        return {}
    rows = conn.execute(
        "select event_id, title from marts.dim_events where event_id = any(%s)", [wanted]
    )
    return dict(rows.fetchall())


def _form_context(page: web.Page) -> dict:
    night = last_night(page.conn) or date.today()
    return {
        "audiences": page.conn.execute(
            "select audience_id, name from workspace.audiences where not archived"
            " order by audience_id desc"
        ).fetchall(),
        "classes": [
            r[0]
            for r in page.conn.execute("select clc_class from marts.book_loans_by_class order by 1")
        ],
        "events": page.conn.execute(
            "select event_id, title, starts_at from marts.dim_events where is_upcoming"
            " order by starts_at"
        ).fetchall(),
        "goal_kinds": results.GOAL_KINDS,
        "start": night + timedelta(days=1),
        "end": night + DEFAULT_WINDOW,
        "default_percent": int(campaigns.DEFAULT_CONTROL_SHARE * 100),
    }


def _list_page(page: web.Page, status: int = 200, problem: str = "", form: dict | None = None):
    chosen = filters.Filters.of(page.request)
    found = listing(page, chosen)
    table = web.Table(
        [*CSV_COLUMNS, "contacted", "control"],
        [
            (*(c["goal_words"] if k == "goal" else c[k] for k in CSV_COLUMNS), c["contacted"],
             c["control"])
            for c in found
        ],
    )  # fmt: skip
    return page.render(
        "campaigns.html",
        status,
        campaigns=found,
        filters=chosen,
        choices=filters.choices(page.conn),
        statuses=results.STATUS,
        problem=problem,
        form=form or {"audience_id": page.request.query_params.get("audience", "")},
        **_form_context(page),
        tables={"campaigns": table},
    )


@router.get("")
@web.in_page_language
def campaign_list(page: web.Reader):
    return _list_page(page)


@router.post("")
@web.in_page_language
def create(
    page: web.Reader,
    name: Annotated[str, Form()] = "",
    audience_id: Annotated[str, Form()] = "",
    goal_kind: Annotated[str, Form()] = "borrow_any",
    clc_class: Annotated[str, Form()] = "",
    event_id: Annotated[str, Form()] = "",
    window_start: Annotated[str, Form()] = "",
    window_end: Annotated[str, Form()] = "",
    control_percent: Annotated[str, Form()] = "10",
):
    sent = dict(name=name, audience_id=audience_id, goal_kind=goal_kind, clc_class=clc_class,
                event_id=event_id, window_start=window_start, window_end=window_end,
                control_percent=control_percent)  # fmt: skip
    goal = {"kind": goal_kind}
    if goal_kind == "borrow_clc":
        goal["clc_class"] = clc_class
    elif goal_kind == "event_signup":
        goal["event_id"] = event_id
    try:
        if not audience_id.isdigit():
            raise ValueError(_("Choose an audience."))
        try:
            start, end = date.fromisoformat(window_start), date.fromisoformat(window_end)
            share = Decimal(control_percent.strip()) / 100
        except (ValueError, InvalidOperation):
            raise ValueError(
                _("The window needs two dates and the control group a percentage.")
            ) from None
        campaign_id = campaigns.create(
            page.conn, name=name, audience_id=int(audience_id), goal=goal,
            window_start=start, window_end=end, created_by=page.account.username,
            control_share=share,
        )  # fmt: skip
    except (ValueError, campaigns.CampaignError) as error:
        page.conn.rollback()
        return _list_page(page, 400, builder.problem(error), sent)
    page.conn.commit()
    return RedirectResponse(f"/campaigns/{campaign_id}?created=1", status_code=303)


def _detail(page: web.Page, campaign_id: int, status: int = 200, problem: str = ""):
    chosen = filters.Filters.of(page.request)
    found = listing(page, chosen, campaign_id)
    if not found:
        raise HTTPException(404, f"no campaign {campaign_id}")
    campaign = found[0]
    nights = web.Table.of(
        page.conn.execute(
            "select night, contacted, contacted_reached, control, control_reached, difference,"
            " ci_low, ci_high from workspace.campaign_results where campaign_id = %s"
            " order by night",
            [campaign_id],
        )
    )
    latest = nights.dicts()[-1] if nights.rows else None
    words = latest and results.sentence(
        campaign["goal"], latest, campaign["window_end"], campaign["event_title"]
    )
    figure = None
    if nights.rows:
        series = {
            _("contacted"): [
                round(100 * r["contacted_reached"] / r["contacted"], 1) if r["contacted"] else None
                for r in nights.dicts()
            ],
            _("control group"): [
                round(100 * r["control_reached"] / r["control"], 1) if r["control"] else None
                for r in nights.dicts()
            ],
        }
        nights_x = [r[0].isoformat() for r in nights.rows]
        figure = charts.lines(nights_x, series, _("% reached the goal"))
        figure["layout"]["xaxis"] = {"type": "category"}
    exports = web.Table.of(
        page.conn.execute(
            "select at, username, reason, row_count from workspace.audit_log"
            " where action = 'export_contacts' and detail ->> 'campaign_id' = %s"
            " order by audit_id desc",
            [str(campaign_id)],
        )
    )
    return page.render(
        "campaign.html",
        status,
        campaign=campaign,
        statuses=results.STATUS,
        night=last_night(page.conn),
        latest=latest,
        words=words,
        figure=figure,
        exports=exports,
        filters=chosen,
        choices=filters.choices(page.conn),
        created=page.request.query_params.get("created"),
        problem=problem,
        tables={"results": nights, "exports": exports},
    )


@router.get("/{campaign_id}")
@web.in_page_language
def campaign(page: web.Reader, campaign_id: int):
    return _detail(page, campaign_id)


@router.post("/{campaign_id}/launch")
@web.in_page_language
def launch(page: web.Reader, campaign_id: int):
    """Freeze the audience's members of the last validated night, with the control group."""
    night = last_night(page.conn)
    try:
        if night is None:
            raise campaigns.CampaignError(_("No night has been validated yet."))
        campaigns.launch(page.conn, campaign_id, page.account.username, night)
    except campaigns.CampaignError as error:
        page.conn.rollback()
        return _detail(page, campaign_id, 409, str(error))
    page.conn.commit()
    return RedirectResponse(f"/campaigns/{campaign_id}", status_code=303)


@router.post("/{campaign_id}/contacts")
@web.in_page_language
def contacts(page: web.Exporter, campaign_id: int, reason: Annotated[str, Form()] = ""):
    """The contacted members' names, e-mail addresses and cards as a CSV download, through
    the audited database function (which writes the audit row); nothing is kept here."""
    if not reason.strip():
        return _detail(page, campaign_id, 400, _("Say why the contact list is needed."))
    try:
        rows = page.conn.execute(
            "select * from workspace.campaign_contacts(%s, %s, %s)",
            [campaign_id, page.account.username, reason.strip()],
        ).fetchall()
    except (psycopg.errors.InsufficientPrivilege, psycopg.errors.InvalidParameterValue) as error:
        page.conn.rollback()
        return _detail(page, campaign_id, 409, error.diag.message_primary or str(error))
    page.conn.commit()
    table = web.Table(["name", "email", "card"], rows)
    return web.csv_response(table, f"campaign-{campaign_id}-contacts.csv")
