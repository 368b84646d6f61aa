"""A reader's page, by pseudonym only: profile, segment history, loans by CLC class, visits per
week, events and what the recommender published for them. Nothing here names the person: the
workspace role cannot read names, e-mails, cards or patron ids."""

from __future__ import annotations

import re
from datetime import date

import psycopg
from fastapi import APIRouter, HTTPException

from libcrm.workspace import charts, i18n, web
from libcrm.workspace.i18n import gettext as _
from libcrm.workspace.pages.shown import labelled
from libcrm.workspace.reasons import worded
from libcrm.workspace.vocabulary import clc_name, label

router = APIRouter()

USER_KEY = re.compile(r"^[0-9a-f]{32}$")
# Weeks of visits the page charts, ending with the week of the last night.
VISIT_WEEKS = 26


PROFILE = """
select
    p.category, p.department, u.enrolled_year as cohort, p.registered_on,
    p.value_segment, p.lifecycle_stage, p.persona, p.loyalty_score,
    p.loans_in_window, p.visits_in_window, round(p.library_hours_in_window, 1) as library_hours,
    p.events_attended_in_window, p.top_clc_classes, p.last_active_at::date as last_active,
    p.days_since_last_active, p.opt_out
from marts.user_profiles as p
inner join marts.dim_users as u on p.user_key = u.user_key
where p.user_key = %(user_key)s
"""

HISTORY = """
select
    dbt_valid_from::date as valid_from,
    dbt_valid_to::date as valid_to,
    value_segment,
    lifecycle_stage
from snapshots.user_segments_snapshot
where user_key = %(user_key)s
order by dbt_valid_from desc
"""

LOANS = """
select clc_class, count(*) as loans, max(checkout_date) as last_loan
from marts.fct_loans
where user_key = %(user_key)s and is_book
group by clc_class
order by loans desc, clc_class
"""

VISITS = """
with weeks as (
    select week::date as week
    from generate_series(
        date_trunc('week', %(end)s::date) - (%(weeks)s - 1) * interval '1 week',
        date_trunc('week', %(end)s::date),
        interval '1 week'
    ) as week
),
visits as (
    select
        date_trunc('week', visit_date)::date as week,
        count(*) as visits,
        round(sum(dwell_minutes) / 60.0, 1) as library_hours
    from marts.fct_visits
    where user_key = %(user_key)s and visit_date <= %(end)s
    group by 1
)
select weeks.week, coalesce(visits.visits, 0) as visits,
       coalesce(visits.library_hours, 0) as library_hours
from weeks
left join visits on weeks.week = visits.week
order by weeks.week
"""

EVENTS = """
select a.starts_at::date as day, e.title, a.category, a.attendance, a.rating
from marts.fct_event_attendance as a
inner join marts.dim_events as e on a.event_id = e.event_id
where a.user_key = %(user_key)s
order by a.starts_at desc
"""

# The lists of the last night the recommender published for the reader.
RECOMMENDED = """
with last_night as (
    select max(generated_for) as generated_for
    from recsys.recommendation_log
    where user_key = %(user_key)s
)
select
    r.generated_for, r.kind, r.rank,
    coalesce(i.title, e.title) as title,
    coalesce(i.clc_class, e.category) as class_or_category,
    r.reason_code as reason,
    r.reason_params,
    r.model_version
from recsys.recommendation_log as r
inner join last_night on r.generated_for = last_night.generated_for
left join marts.dim_items as i on r.kind = 'resource' and r.target_id = i.item_id
left join marts.dim_events as e on r.kind = 'activity' and r.target_id = e.event_id
where r.user_key = %(user_key)s
order by r.kind desc, r.rank
"""


def table(conn: psycopg.Connection, statement: str, **values) -> web.Table:
    return web.Table.of(conn.execute(statement, values))


def last_day(conn: psycopg.Connection, user_key: str) -> date:
    """The last night validated, else the reader's last visit, else today."""
    night = conn.execute("select max(data_date) from quality.validation_results").fetchone()[0]
    if night is None:
        night = conn.execute(
            "select max(visit_date) from marts.fct_visits where user_key = %s", [user_key]
        ).fetchone()[0]
    return night or date.today()


def profile_table(profile: dict) -> web.Table:
    """The profile as field / value rows, codes named; profiling left out after an opt-out."""
    fields = [
        ("category", _("Patron category"), label("patron_category", profile["category"])),
        ("department", _("School / department"), profile["department"]),
        ("cohort", _("Cohort"), profile["cohort"]),
        ("registered_on", _("Registered on"), profile["registered_on"]),
    ]
    if not profile["opt_out"]:
        fields += [
            ("value_segment", _("Value segment"), label("value_segment", profile["value_segment"])),
            (
                "lifecycle_stage",
                _("Lifecycle stage"),
                label("lifecycle_stage", profile["lifecycle_stage"]),
            ),
            ("persona", _("Persona"), label("persona", profile["persona"])),
            ("loyalty_score", _("Loyalty score (0-100)"), profile["loyalty_score"]),
            (
                "top_clc_classes",
                _("Most borrowed CLC classes"),
                ", ".join(
                    clc_name(code.strip())
                    for code in (profile["top_clc_classes"] or "").split(",")
                    if code.strip()
                )
                or "—",
            ),
        ]
    fields += [
        ("loans_in_window", _("Loans in the activity window"), profile["loans_in_window"]),
        ("visits_in_window", _("Visits in the activity window"), profile["visits_in_window"]),
        ("library_hours", _("Hours in the library in the window"), profile["library_hours"]),
        (
            "events_attended_in_window",
            _("Events attended in the window"),
            profile["events_attended_in_window"],
        ),
        ("last_active", _("Last activity"), profile["last_active"]),
        (
            "days_since_last_active",
            _("Days since last activity"),
            profile["days_since_last_active"],
        ),
    ]
    return web.Table(
        ["field", "value"],
        [(name, value) for _key, name, value in fields],
        [_("Field"), _("Value")],
    )


def _worded(recommended: web.Table, language: str) -> web.Table:
    """The recommendations with kinds, classes, categories and reasons in ``language``."""
    kinds = {"resource": _("Book"), "activity": _("Event")}
    return web.Table(
        [column for column in recommended.columns if column != "reason_params"],
        [
            (
                night,
                kinds.get(kind, kind),
                rank,
                title,
                clc_name(group) if kind == "resource" else label("event_category", group),
                worded(code, params, language) or "—",
                version,
            )
            for night, kind, rank, title, group, code, params, version in recommended.rows
        ],
    )


@router.get("/readers/{user_key}")
def reader(page: web.Reader, user_key: str):
    if not USER_KEY.fullmatch(user_key):
        raise HTTPException(404, "a reader is known by a user key of 32 hexadecimal digits")
    found = table(page.conn, PROFILE, user_key=user_key).dicts()
    if not found:
        raise HTTPException(404, f"no reader {user_key[:8]}")
    profile = found[0]
    end = last_day(page.conn, user_key)
    history = table(page.conn, HISTORY, user_key=user_key)
    loans = table(page.conn, LOANS, user_key=user_key)
    visits = table(page.conn, VISITS, user_key=user_key, end=end, weeks=VISIT_WEEKS)
    attended = table(page.conn, EVENTS, user_key=user_key)
    recommended = table(page.conn, RECOMMENDED, user_key=user_key)
    if profile["opt_out"]:  # refused profiling: no segment history (and nothing is published)
        history.rows = []
    with i18n.use(page.language):
        names = {
            "valid_from": _("From"),
            "valid_to": _("Until"),
            "value_segment": _("Value segment"),
            "lifecycle_stage": _("Lifecycle stage"),
            "clc_class": _("CLC class"),
            "loans": _("Loans"),
            "last_loan": _("Last loan"),
            "week": _("Week of"),
            "visits": _("Visits"),
            "library_hours": _("Hours in the library"),
            "day": _("Day"),
            "title": _("Title"),
            "category": _("Category"),
            "attendance": _("Attendance"),
            "rating": _("Rating"),
            "generated_for": _("Published for"),
            "kind": _("Kind"),
            "rank": _("Rank"),
            "class_or_category": _("CLC class or category"),
            "reason": _("Why"),
            "model_version": _("Model version"),
        }
        loans.rows = [(clc_name(code), *rest) for code, *rest in loans.rows]
        tables = {
            "profile": profile_table(profile),
            "history": labelled(
                history,
                names,
                {"value_segment": "value_segment", "lifecycle_stage": "lifecycle_stage"},
            ),
            "loans": labelled(loans, names),
            "visits": labelled(visits, names),
            "events": labelled(
                attended, names, {"category": "event_category", "attendance": "attendance"}
            ),
            "recommended": labelled(_worded(recommended, page.language), names),
        }
        loan_chart = charts.bars(
            [name.partition(" · ")[0] for name, *_rest in loans.rows],
            {_("Loans"): [row[1] for row in loans.rows]},
        )
        visit_chart = charts.bars(
            [str(row[0]) for row in visits.rows],
            {_("Visits"): [row[1] for row in visits.rows]},
        )
    return page.render(
        "reader.html",
        user_key=user_key,
        opt_out=profile["opt_out"],
        loan_chart=loan_chart,
        visit_chart=visit_chart,
        visit_weeks=VISIT_WEEKS,
        tables=tables,
    )
