"""Audiences: the saved audiences with their members night by night, the builder with its live
count, and one audience's definition in plain words and its (pseudonymous) members."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import psycopg
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse
from psycopg import sql
from starlette.datastructures import FormData

from libcrm.crm import audiences, campaigns, definitions
from libcrm.workspace import builder, charts, filters, web
from libcrm.workspace.i18n import N_
from libcrm.workspace.i18n import gettext as _

router = APIRouter(prefix="/audiences")

MEMBERS_SHOWN = 500  # members listed (and downloaded) on an audience's page
HISTORY = timedelta(days=90)  # nights drawn in the members-per-night charts
TEMPLATE_NAMES = {
    "welcome_new_cohort": N_("Welcome the new cohort"),
    "win_back_growth": N_("Win back at-risk growth readers"),
    "invite_opinion_leaders": N_("Invite the opinion leaders to lead a reading club"),
    "quarter_prize_list": N_("The quarter's prize list"),
}

# Both lists sum the members counted per group when each night was recorded
# (workspace.audience_counts), a few hundred rows per audience and night, not the members.
LIST = sql.SQL("""
with counts as (
    select g.audience_id, sum(g.members) as members
    from workspace.audience_counts as g
    where g.night = %(night)s and {where}
    group by g.audience_id
)
select a.audience_id, a.name, coalesce(c.members, 0) as members, a.created_by,
    a.created_at::date as created_on
from workspace.audiences as a
left join counts as c on a.audience_id = c.audience_id
where (%(audience)s::bigint is null and not a.archived) or a.audience_id = %(audience)s
order by a.audience_id desc
""")

PER_NIGHT = sql.SQL("""
select g.audience_id, g.night, sum(g.members) as members
from workspace.audience_counts as g
inner join workspace.audiences as a on g.audience_id = a.audience_id
where g.night > %(since)s and {where}
    and ((%(audience)s::bigint is null and not a.archived) or g.audience_id = %(audience)s)
group by g.audience_id, g.night
order by g.night, g.audience_id
""")

MEMBERS = sql.SQL("""
select m.user_key, p.value_segment, p.lifecycle_stage, u.department, u.category,
    u.enrolled_year
from workspace.audience_members as m
inner join marts.dim_users as u on m.user_key = u.user_key
left join marts.user_profiles as p on m.user_key = p.user_key
where m.audience_id = %(audience)s and m.night = %(night)s and {where}
order by m.user_key
limit %(limit)s
""")


async def form_data(request: Request) -> FormData:
    """The posted form (already read, and cached, by the CSRF check)."""
    return await request.form()


Form = Annotated[FormData, Depends(form_data)]


def last_night(conn: psycopg.Connection) -> date | None:
    """The night of the last validated marts: the night new audiences are recorded for."""
    return conn.execute("select max(data_date) from quality.validation_results").fetchone()[0]


def recorded_night(conn: psycopg.Connection, audience_id: int | None = None) -> date | None:
    """The last night members were recorded (for one audience, or for any)."""
    return conn.execute(
        "select max(night) from workspace.audience_members"
        " where %(audience)s::bigint is null or audience_id = %(audience)s",
        {"audience": audience_id},
    ).fetchone()[0]


def listing(page: web.Page, chosen: filters.Filters, audience_id: int | None = None) -> dict:
    """The audiences (or one) with their filtered members last night, and per night."""
    where, params = chosen.where("g")
    night = recorded_night(page.conn, audience_id)
    since = night - HISTORY if night else date.min  # no night recorded yet: nothing to show
    params |= {"night": night, "audience": audience_id, "since": since}
    table = web.Table.of(page.conn.execute(LIST.format(where=where), params))
    per_night = web.Table.of(page.conn.execute(PER_NIGHT.format(where=where), params))
    names = {row[0]: row[1] for row in table.rows}
    nights = sorted({row[1] for row in per_night.rows})
    counts = {(row[0], row[1]): row[2] for row in per_night.rows}
    series = {
        names[key]: [counts.get((key, n)) for n in nights]  # a gap before it was saved
        for key in names
        if any((key, n) in counts for n in nights)
    }
    figure = None
    if series:
        figure = charts.lines([n.isoformat() for n in nights], series, _("members"))
        figure["layout"]["xaxis"] = {"type": "category"}  # one tick per night, not per hour
    return {"night": night, "table": table, "per_night": per_night, "figure": figure}


@router.get("")
@web.in_page_language
def audience_list(page: web.Reader):
    chosen = filters.Filters.of(page.request)
    found = listing(page, chosen)
    return page.render(
        "audiences.html",
        filters=chosen,
        choices=filters.choices(page.conn),
        templates=TEMPLATE_NAMES,
        **found,
        tables={"audiences": found["table"], "members_per_night": found["per_night"]},
    )


def _builder(page: web.Page, rows, name: str = "", status: int = 200, problem: str = ""):
    return page.render(
        "audience_new.html",
        status,
        rows=rows,
        name=name,
        groups=builder.GROUPS,
        fields=builder.CHOICES,
        operators=builder.OPERATORS,
        problem=problem,
        tables={},
    )


@router.get("/new")
@web.in_page_language
def new_audience(page: web.Reader, template: str | None = None):
    if template is None:
        return _builder(page, builder.empty_rows())
    if template not in campaigns.TEMPLATES:
        raise HTTPException(404, f"no audience template {template!r}")
    return _builder(
        page, builder.rows_from(campaigns.TEMPLATES[template]), _(TEMPLATE_NAMES[template])
    )


@router.post("/new")
@web.in_page_language
def save_audience(page: web.Reader, form: Form):
    """Add a row (the form's "add a row" buttons) or save the audience."""
    rows = builder.rows_of(form)
    name = str(form.get("name", "")).strip()
    if form.get("add"):
        return _builder(page, rows, name)
    try:
        definition = builder.definition_of(rows)
        if not name:
            raise ValueError(_("Give the audience a name."))
        audience_id = audiences.create(
            page.conn, name, definition, page.account.username, last_night(page.conn)
        )
    except ValueError as error:
        page.conn.rollback()
        return _builder(page, rows, name, 400, builder.problem(error))
    page.conn.commit()
    return RedirectResponse(f"/audiences/{audience_id}", status_code=303)


@router.post("/count")
@web.in_page_language
def live_count(page: web.Reader, form: Form):
    """The live count of the builder's definition, as JSON for static/workspace.js."""
    try:
        count = audiences.count(page.conn, builder.definition_of(builder.rows_of(form)))
    except ValueError as error:
        page.conn.rollback()
        return JSONResponse({"text": builder.problem(error)})
    # Two messages rather than ngettext: the catalogs hold singular messages only, and
    # Chinese needs one form.
    text = _("1 reader") if count == 1 else _("%(num)s readers", num=f"{count:,}")
    return JSONResponse({"count": count, "text": text})


@router.get("/{audience_id}")
@web.in_page_language
def audience(page: web.Reader, audience_id: int):
    row = page.conn.execute(
        "select name, definition, created_by, created_at, archived from workspace.audiences"
        " where audience_id = %s",
        [audience_id],
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"no audience {audience_id}")
    name, stored, created_by, created_at, archived = row
    chosen = filters.Filters.of(page.request)
    found = listing(page, chosen, audience_id)
    where, params = chosen.where("u")
    params |= {"audience": audience_id, "night": found["night"], "limit": MEMBERS_SHOWN}
    members = web.Table.of(page.conn.execute(MEMBERS.format(where=where), params))
    total = found["table"].rows[0][2] if found["table"].rows else 0
    return page.render(
        "audience.html",
        audience_id=audience_id,
        name=name,
        created_by=created_by,
        created_at=created_at,
        archived=archived,
        words=builder.in_words(definitions.parse(stored)),
        filters=chosen,
        choices=filters.choices(page.conn),
        total=total,
        members=members,
        shown_at_most=MEMBERS_SHOWN,
        **found,
        tables={"members": members, "members_per_night": found["per_night"]},
    )


@router.post("/{audience_id}/archive")
@web.in_page_language
def archive(page: web.Reader, audience_id: int):
    audiences.archive(page.conn, audience_id)
    page.conn.commit()
    return RedirectResponse("/audiences", status_code=303)
