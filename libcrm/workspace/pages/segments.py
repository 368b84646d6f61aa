"""Segments and lifecycle: how the chosen readers spread over value segments, lifecycle stages
and personas, how they moved between segments or stages within a month, the rules behind each
label with the library's thresholds, and the readers of one label.

The distribution and the flows come from marts.segments_by_group and
marts.segment_flows_monthly, which dbt builds each night per group of patrons, so a filter
sums a few thousand rows."""

from __future__ import annotations

from datetime import date
from functools import cache

import psycopg
import yaml
from fastapi import APIRouter
from psycopg import sql

from libcrm import config
from libcrm.workspace import charts, filters, i18n, vocabulary, web
from libcrm.workspace.i18n import N_, gettext

router = APIRouter()

KINDS = ("value_segment", "lifecycle_stage", "persona")
# Segments and stages have a recorded history (snapshots.user_segments_snapshot); personas not.
DIMENSIONS = ("value_segment", "lifecycle_stage")
# The readers list shows this many of a label's readers, the most loyal first.
LIST_LIMIT = 500

# The persona rules of user_profiles in plain words (vocabulary.RULES holds segments and stages).
PERSONA_RULES = {
    "avid_reader": N_(
        "At least %(avid_reader_min_loans)s book loans in the last %(activity_window_days)s days."
    ),
    "event_goer": N_(
        "Not an avid reader, and at least %(persona_min_events)s events attended in the last "
        "%(activity_window_days)s days."
    ),
    "study_space_user": N_(
        "Neither of the above, and at least %(persona_min_hours)s hours in the library in the "
        "last %(activity_window_days)s days."
    ),
    "occasional_user": N_(
        "Some loan, visit or attended event in the last %(activity_window_days)s days, "
        "but none of the above."
    ),
    "dormant": N_("Nothing at all in the last %(activity_window_days)s days."),
}

DISTRIBUTION = sql.SQL("""
with counts as (
    select g.kind, g.code, sum(g.readers)::bigint as readers
    from marts.segments_by_group as g
    where {where}
    group by g.kind, g.code
)
select
    v.kind,
    v.code,
    coalesce(c.readers, 0) as readers,
    round(coalesce(c.readers, 0) * 100.0 / nullif(sum(c.readers) over (partition by v.kind), 0), 1)
        as share
from marts.crm_vocabulary as v
left join counts as c using (kind, code)
where v.kind in ('value_segment', 'lifecycle_stage', 'persona')
order by v.kind, v.position
""")

# Per (state at the month's start, state at its end); the mart's description says which
# version of a reader is each.
TRANSITIONS = sql.SQL("""
select g.from_state, g.to_state, sum(g.readers)::bigint as readers
from marts.segment_flows_monthly as g
where {where} and g.dimension = %(dimension)s and g.month_starts_on = %(month_start)s
group by g.from_state, g.to_state
order by readers desc, g.from_state, g.to_state
""")

READERS = sql.SQL("""
select
    p.user_key, u.department, u.category, u.enrolled_year, p.value_segment, p.lifecycle_stage,
    p.persona, p.loans_in_window, p.library_hours_in_window, p.events_attended_in_window,
    p.days_since_last_active, p.loyalty_score, count(*) over () as total
from marts.user_profiles as p
join marts.dim_users as u using (user_key)
where {where} and p.{kind} = %(code)s
order by p.loyalty_score desc, p.user_key
limit %(limit)s
""")


@cache
def thresholds() -> dict:
    """The dbt vars of dbt_project.yml that the rules name, read once."""
    with (config.dbt_project_dir() / "dbt_project.yml").open() as project:
        return dict(yaml.safe_load(project)["vars"])


def rules() -> dict[str, list[tuple[str, str]]]:
    """Per kind: (code, its rule in plain words) in the current language."""
    values = thresholds()
    return {
        "value_segment": [
            (code, vocabulary.rule(code, values)) for code in vocabulary.NAMES["value_segment"]
        ],
        "lifecycle_stage": [
            (code, vocabulary.rule(code, values)) for code in vocabulary.NAMES["lifecycle_stage"]
        ],
        "persona": [(code, gettext(text, **values)) for code, text in PERSONA_RULES.items()],
    }


def distribution(conn: psycopg.Connection, chosen: filters.Filters) -> web.Table:
    """Readers and their share per segment, stage and persona, every code of the vocabulary."""
    where, params = chosen.where("g")
    return web.Table.of(conn.execute(DISTRIBUTION.format(where=where), params))


def months(conn: psycopg.Connection) -> list[date]:
    """The months the segment history covers, latest first."""
    rows = conn.execute(
        "select distinct month_starts_on from marts.segment_flows_monthly order by 1 desc"
    ).fetchall()
    return [row[0] for row in rows]


def transitions(
    conn: psycopg.Connection, chosen: filters.Filters, dimension: str, month: date
) -> web.Table:
    """Readers per (state at the month's start, state at its end), unchanged ones included."""
    where, params = chosen.where("g")
    query = TRANSITIONS.format(where=where)
    return web.Table.of(
        conn.execute(query, {**params, "dimension": dimension, "month_start": month})
    )


def readers(conn: psycopg.Connection, chosen: filters.Filters, kind: str, code: str) -> web.Table:
    """The readers of one label (at most LIST_LIMIT, the most loyal first)."""
    where, params = chosen.where("u")
    query = READERS.format(where=where, kind=sql.Identifier(kind))
    return web.Table.of(conn.execute(query, {**params, "code": code, "limit": LIST_LIMIT}))


def flow_chart(table: web.Table, kind: str) -> dict:
    """The transitions as a Sankey diagram: start states on the left, end states on the right."""
    starts = sorted({row[0] for row in table.rows}, key=list(vocabulary.NAMES[kind]).index)
    ends = sorted({row[1] for row in table.rows}, key=list(vocabulary.NAMES[kind]).index)
    labels = [vocabulary.label(kind, code) for code in starts + ends]
    return charts.flow(
        labels,
        [starts.index(row[0]) for row in table.rows],
        [len(starts) + ends.index(row[1]) for row in table.rows],
        [row[2] for row in table.rows],
    )


@router.get("/segments")
def segments(page: web.Reader, dimension: str = "lifecycle_stage", month: str = ""):
    # Messages built here (chart labels, rules) need the page's language, as the template.
    with i18n.use(page.language):
        return _segments(page, dimension, month)


def _segments(page: web.Page, dimension: str, month: str):
    chosen = filters.Filters.of(page.request)
    dimension = dimension if dimension in DIMENSIONS else "lifecycle_stage"
    spread = distribution(page.conn, chosen)
    bars, shown = {}, []
    for kind in KINDS:
        rows = [row for row in spread.rows if row[0] == kind]
        bars[kind] = charts.bars(
            [vocabulary.label(kind, row[1]) for row in rows],
            {gettext("Readers"): [row[2] for row in rows]},
        )
        shown += [
            (kind, code, vocabulary.label(kind, code), n, share) for _, code, n, share in rows
        ]
    history = months(page.conn)
    chosen_month = next((m for m in history if m.isoformat()[:7] == month), None)
    chosen_month = chosen_month or (history[0] if history else None)
    moves = web.Table(["from_state", "to_state", "readers"], [])
    if chosen_month is not None:
        moves = transitions(page.conn, chosen, dimension, chosen_month)
    moves_shown = web.Table(
        ["from", "to", "readers"],
        [
            (vocabulary.label(dimension, a), vocabulary.label(dimension, b), n)
            for a, b, n in moves.rows
        ],
    )
    kind = page.request.query_params.get("kind", "")
    code = page.request.query_params.get("code", "")
    members = None
    if kind in KINDS and code in vocabulary.NAMES[kind]:
        members = readers(page.conn, chosen, kind, code)
    tables = {
        "distribution": web.Table(["kind", "code", "label", "readers", "share"], shown),
        "transitions": moves_shown,
    }
    if members is not None:
        tables["readers"] = web.Table(members.columns[:-1], [row[:-1] for row in members.rows])
    return page.render(
        "segments.html",
        filters=chosen,
        choices=filters.choices(page.conn),
        kinds=KINDS,
        distribution=shown,
        bars=bars,
        dimension=dimension,
        dimensions=DIMENSIONS,
        months=history,
        month=chosen_month,
        moves=moves_shown,
        flow=flow_chart(moves, dimension) if moves.rows else None,
        rules=rules(),
        thresholds=thresholds(),
        kind=kind if members is not None else None,
        code=code if members is not None else None,
        members=members,
        total=members.rows[0][-1] if members and members.rows else 0,
        limit=LIST_LIMIT,
        tables=tables,
    )
