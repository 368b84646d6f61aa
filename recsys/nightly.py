"""The nightly recommendation run: evaluate ALS against popularity, train the better one on
everything, and publish each eligible patron's top items to the portal."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np

from libcrm import config, db
from recsys import interactions
from recsys.evaluate import K, Metrics, holdout, recommend_all
from recsys.models import Als, Popularity
from recsys.publish import replace_rows
from recsys.warehouse import Catalogue, read_catalogue

log = logging.getLogger(__name__)

# The test window of the nightly holdout: the last two weeks of loans.
HOLDOUT_DAYS = 14
# ALS is published unless its nDCG@10 falls more than this share below popularity's.
TOLERANCE = 0.05
# Users with fewer book loans than this get the popularity list instead of ALS.
MIN_HISTORY = 2
POPULAR_REASON = "among the books most borrowed lately"
RESOURCE_COLUMNS = (
    "patron_id",
    "rank",
    "item_id",
    "score",
    "reason",
    "generated_for",
    "model_version",
)


@dataclass(frozen=True)
class NightlyResult:
    """What the run measured and published."""

    model: Metrics
    popularity: Metrics
    published_model: str
    model_version: str
    rows_published: int
    users_with_recommendations: int


def _blocked(catalogue: Catalogue, item_ids: np.ndarray) -> np.ndarray:
    return np.array([item not in catalogue.recommendable for item in item_ids])


def evaluate(catalogue: Catalogue, data_date: date) -> tuple[Metrics, Metrics]:
    """Temporal holdout: train on loans before the last HOLDOUT_DAYS, test on those days."""
    cutoff = np.datetime64(datetime.combine(data_date - timedelta(days=HOLDOUT_DAYS - 1), time()))
    before = catalogue.loan_times < cutoff
    users = np.unique(catalogue.loan_users)
    items = np.unique(catalogue.loan_items)
    decay = interactions.decay_weights(catalogue.loan_times[before], cutoff.astype(datetime))
    train = interactions.build(
        catalogue.loan_users[before], catalogue.loan_items[before], decay, users, items
    )
    after = ~before
    test = interactions.build(
        catalogue.loan_users[after], catalogue.loan_items[after], np.ones(after.sum()), users, items
    )
    blocked = _blocked(catalogue, items)
    return (
        holdout(Als(), train.matrix, test.matrix, blocked),
        holdout(Popularity(), train.matrix, test.matrix, blocked),
    )


def _rows_for(
    model, data: interactions.Interactions, rows, blocked, catalogue, version, data_date, explain
):
    ids, scores = recommend_all(model, rows, K, (data.matrix > 0).tocsr(), blocked)
    for row, user_items, user_scores in zip(rows, ids, scores, strict=True):
        valid = np.isfinite(user_scores)
        user_items, user_scores = user_items[valid], user_scores[valid]
        reasons = explain(row, user_items)
        patron = catalogue.patrons[data.users[row]]
        for rank, (item, score, reason) in enumerate(
            zip(user_items, user_scores, reasons, strict=True), 1
        ):
            yield (patron, rank, data.items[item], float(score), reason, data_date, version)


def recommend(catalogue: Catalogue, data_date: date, use_als: bool) -> tuple[list[tuple], str]:
    """Train on every loan and return the portal rows and the model version."""
    now = datetime.combine(data_date + timedelta(days=1), time())
    eligible = np.array(sorted(catalogue.patrons))
    weights = interactions.decay_weights(catalogue.loan_times, now)
    data = interactions.build(
        catalogue.loan_users,
        catalogue.loan_items,
        weights,
        np.union1d(eligible, catalogue.loan_users),
        np.unique(catalogue.loan_items),
    )
    blocked = _blocked(catalogue, data.items)
    history = np.diff((data.matrix > 0).tocsr().indptr)
    rows = np.flatnonzero(np.isin(data.users, eligible))
    personal = rows[history[rows] >= MIN_HISTORY] if use_als else rows[:0]
    fallback = np.setdiff1d(rows, personal)
    version = f"{'als' if use_als else 'popularity'}-{data_date:%Y%m%d}"
    popular_reasons = lambda row, items: [POPULAR_REASON] * len(items)  # noqa: E731
    published = list(
        _rows_for(
            Popularity().fit(data.matrix),
            data,
            fallback,
            blocked,
            catalogue,
            version,
            data_date,
            popular_reasons,
        )
    )
    if len(personal):
        model = Als().fit(data.matrix)

        def because(row, items):
            borrowed = data.matrix[row].indices
            closest = model.closest_history(row, items, borrowed)
            titles = [catalogue.item_titles.get(data.items[i], data.items[i]) for i in closest]
            return [f"because you borrowed 《{title}》" for title in titles]

        published += _rows_for(
            model, data, personal, blocked, catalogue, version, data_date, because
        )
    return published, version


def run(data_date: date, run_id: str, url: str | None = None) -> NightlyResult:
    """Evaluate, train, publish and record the night's metrics."""
    url = url or config.database_url()
    with db.connect(url) as conn:
        catalogue = read_catalogue(conn)
        model_metrics, popular_metrics = evaluate(catalogue, data_date)
        use_als = model_metrics.ndcg_at_10 >= popular_metrics.ndcg_at_10 * (1 - TOLERANCE)
        if not use_als:
            log.warning(
                "ALS nDCG@10 %.4f is below popularity's %.4f beyond the %.0f%% tolerance: "
                "publishing popularity",
                model_metrics.ndcg_at_10,
                popular_metrics.ndcg_at_10,
                TOLERANCE * 100,
            )
        rows, version = recommend(catalogue, data_date, use_als)
        written = replace_rows(conn, ("portal", "resource_recommendations"), RESOURCE_COLUMNS, rows)
        _store_metrics(conn, run_id, data_date, model_metrics, popular_metrics, use_als)
    return NightlyResult(
        model=model_metrics,
        popularity=popular_metrics,
        published_model="als" if use_als else "popularity",
        model_version=version,
        rows_published=written,
        users_with_recommendations=len({row[0] for row in rows}),
    )


def _store_metrics(conn, run_id, data_date, als: Metrics, popular: Metrics, use_als: bool) -> None:
    cutoff = data_date - timedelta(days=HOLDOUT_DAYS - 1)
    with conn.transaction():
        conn.execute("delete from quality.recommender_evaluations where run_id = %s", [run_id])
        for name, metrics, published in (
            ("als", als, use_als),
            ("popularity", popular, not use_als),
        ):
            conn.execute(
                "insert into quality.recommender_evaluations (run_id, data_date, model, cutoff, "
                "users_evaluated, hit_rate_at_10, precision_at_10, ndcg_at_10, coverage, "
                "published) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    run_id,
                    data_date,
                    name,
                    cutoff,
                    metrics.users_evaluated,
                    metrics.hit_rate_at_10,
                    metrics.precision_at_10,
                    metrics.ndcg_at_10,
                    metrics.coverage,
                    published,
                ],
            )
