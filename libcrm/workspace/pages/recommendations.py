"""Recommendations: each night's offline quality of the recommender against the popularity
baseline, which model was published, and how many readers took up what each model published.

Both sources are aggregated without readers (quality.recommender_evaluations per night and
model, marts.fct_recommendation_uptake per model version), so the filters cannot apply to
them; the page says so.
"""

from __future__ import annotations

from fastapi import APIRouter

from libcrm.workspace import charts, filters, i18n, web
from libcrm.workspace.i18n import N_
from libcrm.workspace.i18n import gettext as _
from libcrm.workspace.pages.shown import labelled

router = APIRouter()

# What a model recommends (recsys.recommendation_log.kind).
KINDS = {"resource": N_("Books"), "activity": N_("Events")}

# The latest evaluation of each model per night (a night re-run evaluates again).
EVALUATIONS = """
select distinct on (data_date, model)
    data_date as night,
    model,
    users_evaluated,
    round(hit_rate_at_10::numeric, 4) as hit_rate_at_10,
    round(ndcg_at_10::numeric, 4) as ndcg_at_10,
    round(precision_at_10::numeric, 4) as precision_at_10,
    round(coverage::numeric, 4) as coverage,
    published
from quality.recommender_evaluations
order by data_date, model, evaluated_at desc
"""

UPTAKE = """
select
    model_version,
    kind,
    generated_for,
    users_recommended,
    users_took_up,
    round(uptake_share::numeric, 4) as uptake_share,
    users_shown,
    users_shown_took_up,
    users_not_shown_took_up,
    window_complete
from marts.fct_recommendation_uptake
order by kind, generated_for, model_version
"""


def quality_charts(evaluations: web.Table) -> dict[str, dict]:
    """Hit rate and NDCG at 10 per night, one line per model."""
    rows = evaluations.dicts()
    nights = sorted({row["night"] for row in rows})
    models = sorted({row["model"] for row in rows})
    figures = {}
    for column, title in (
        ("hit_rate_at_10", _("Hit rate at 10 per night")),
        ("ndcg_at_10", _("NDCG at 10 per night")),
    ):
        values = {(row["night"], row["model"]): float(row[column]) for row in rows}
        series = {model: [values.get((night, model)) for night in nights] for model in models}
        figure = charts.lines([str(night) for night in nights], series)
        figure["layout"]["xaxis"] = {"type": "category"}  # one point per night, not a clock
        figures[title] = figure
    return figures


def uptake_chart(uptake: web.Table) -> dict:
    """The share of readers who took up a published list, per model version and kind."""
    rows = uptake.dicts()
    versions = sorted({row["model_version"] for row in rows}, key=lambda v: (v[-8:], v))
    shares = {(row["model_version"], row["kind"]): 100 * float(row["uptake_share"]) for row in rows}
    series = {
        _(name): [shares.get((version, kind)) for version in versions]
        for kind, name in KINDS.items()
    }
    return charts.bars(versions, series, y_title="%")


def headers() -> dict[str, str]:
    """The page's column headers in the current language."""
    return {
        "night": _("Night"),
        "model": _("Model"),
        "users_evaluated": _("Readers evaluated"),
        "hit_rate_at_10": _("Hit rate at 10"),
        "ndcg_at_10": _("NDCG at 10"),
        "precision_at_10": _("Precision at 10"),
        "coverage": _("Catalogue coverage"),
        "published": _("Published"),
        "model_version": _("Model version"),
        "kind": _("Kind"),
        "generated_for": _("Published for"),
        "users_recommended": _("Readers recommended to"),
        "users_took_up": _("Readers who took one up"),
        "uptake_share": _("Uptake"),
        "users_shown": _("Readers the portal showed it to"),
        "users_shown_took_up": _("Shown, took one up"),
        "users_not_shown_took_up": _("Not shown, took one up"),
        "window_complete": _("Window complete"),
    }


def worded(table: web.Table) -> web.Table:
    """The table with yes / no for its booleans and the kind of each list in words."""
    yes, no = _("yes"), _("no")
    kind = table.columns.index("kind") if "kind" in table.columns else None

    def word(i, value):
        if isinstance(value, bool):
            return yes if value else no
        return _(KINDS[value]) if i == kind and value in KINDS else value

    rows = [tuple(word(i, value) for i, value in enumerate(row)) for row in table.rows]
    return web.Table(table.columns, rows, table.headers)


@router.get("/recommendations")
def recommendations(page: web.Reader):
    chosen = filters.Filters.of(page.request)
    evaluations = web.Table.of(page.conn.execute(EVALUATIONS))
    uptake = web.Table.of(page.conn.execute(UPTAKE))
    with i18n.use(page.language):
        names = headers()
        tables = {
            "quality": worded(labelled(evaluations, names)),
            "uptake": worded(labelled(uptake, names)),
        }
        figures = quality_charts(evaluations)
        uptake_figure = uptake_chart(uptake)
    return page.render(
        "recommendations.html",
        filters=chosen,
        choices=filters.choices(page.conn),
        figures=figures,
        uptake_chart=uptake_figure,
        filtered=bool(chosen.query_string()),
        tables=tables,
    )
