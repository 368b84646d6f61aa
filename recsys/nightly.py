"""The nightly recommendation run: evaluate the model against popularity, publish the better
one's books and the open events for each eligible patron, and keep the history."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from libcrm import config, db
from recsys import activities, resources
from recsys.evaluate import Metrics
from recsys.publish import Replacement, replace_all
from recsys.resources import HOLDOUT_DAYS
from recsys.warehouse import loan_titles, read_catalogue

log = logging.getLogger(__name__)

# The model is published unless its nDCG@10 falls more than this share below popularity's.
TOLERANCE = 0.05
RESOURCE_COLUMNS = (
    "patron_id",
    "rank",
    "item_id",
    "score",
    "reason",
    "generated_for",
    "model_version",
)
ACTIVITY_COLUMNS = (
    "patron_id",
    "rank",
    "event_id",
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
    activity_rows_published: int = 0
    users_with_activities: int = 0
    activity_model_version: str = ""
    fallback_users: int = 0
    gate: str = field(default="")
    # False when the portal already served a newer night and was left as it is (a re-run of an
    # older day); ``portal_kept`` then says why.
    published: bool = True
    portal_kept: str = ""
    # Wall seconds per step, for the benchmark: read, evaluate, books_matrix, books_train,
    # books_recommend_all, events, publish.
    seconds: dict[str, float] = field(default_factory=dict)


def gate(model: Metrics, popular: Metrics) -> tuple[bool, str]:
    """Decide whether the model may be published; say why in one line."""
    passed = model.ndcg_at_10 >= popular.ndcg_at_10 * (1 - TOLERANCE)
    verdict = "model published" if passed else "popularity published instead of the model"
    return passed, (
        f"{verdict}: nDCG@10 {model.ndcg_at_10:.4f} vs popularity {popular.ndcg_at_10:.4f} "
        f"(tolerance {TOLERANCE:.0%}), HR@10 {model.hit_rate_at_10:.3f} vs "
        f"{popular.hit_rate_at_10:.3f} on {model.users_evaluated} users held out"
    )


def _portal(rows, patrons, data_date, version):
    return [
        (patrons[user], rank, target, score, reason, data_date, version)
        for user, rank, target, score, reason in rows
    ]


def _log(kind, rows, data_date, version):
    return [
        (kind, user, rank, target, score, data_date, version)
        for user, rank, target, score, reason in rows
    ]


class _Stopwatch:
    """Wall time between successive laps."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 3)
        self._last = now

    def lap_parts(self, name: str, parts: dict[str, float]) -> None:
        """End a lap that the step measured in parts, recording each part."""
        self.laps.update({f"{name}_{part}": seconds for part, seconds in parts.items()})
        self._last = time.perf_counter()


def run(data_date: date, run_id: str, url: str | None = None) -> NightlyResult:
    """Evaluate, train, publish both portal tables and record the night's metrics."""
    url = url or config.database_url()
    clock = _Stopwatch()
    with db.connect(url) as conn:
        catalogue = read_catalogue(conn)
        clock.lap("read")
        model_metrics, popular_metrics = resources.evaluate(catalogue, data_date)
        use_model, verdict = gate(model_metrics, popular_metrics)
        (log.info if use_model else log.warning)("recommender gate for %s: %s", data_date, verdict)
        clock.lap("evaluate")
        books = resources.recommend(catalogue, data_date, use_model)
        clock.lap_parts("books", books.seconds)
        events = activities.read_events(conn, catalogue.departments)
        eligible = sorted(catalogue.patrons)
        event_rows = activities.recommend_events(
            events, eligible, catalogue.departments, loan_titles(catalogue)
        )
        event_version = f"activities-{data_date:%Y%m%d}"
        clock.lap("events")
        publication = replace_all(
            conn,
            [
                Replacement(
                    ("portal", "resource_recommendations"),
                    RESOURCE_COLUMNS,
                    _portal(books.rows, catalogue.patrons, data_date, books.version),
                ),
                Replacement(
                    ("portal", "activity_recommendations"),
                    ACTIVITY_COLUMNS,
                    _portal(event_rows, catalogue.patrons, data_date, event_version),
                ),
            ],
            _log("resource", books.rows, data_date, books.version)
            + _log("activity", event_rows, data_date, event_version),
            data_date,
        )
        written, events_written = publication.rows_written
        _store_metrics(conn, run_id, data_date, model_metrics, popular_metrics, use_model)
        clock.lap("publish")
    return NightlyResult(
        model=model_metrics,
        popularity=popular_metrics,
        published_model="als" if use_model else "popularity",
        model_version=books.version,
        rows_published=written,
        users_with_recommendations=len({row[0] for row in books.rows}),
        activity_rows_published=events_written,
        users_with_activities=len({row[0] for row in event_rows}),
        activity_model_version=event_version,
        fallback_users=books.fallback_users,
        gate=verdict,
        published=publication.published,
        portal_kept=publication.reason,
        seconds=clock.laps,
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
