"""The nightly recommendation run: choose the library's recommender on its own loans (see
recsys.choosing), publish its books and the open events for each eligible patron, and keep
the history."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from libcrm import config, db, settings
from recsys import activities, choosing, feedback, resources, similar
from recsys.candidates import BASELINE, BY_NAME, CANDIDATES, Candidate
from recsys.evaluate import Metrics
from recsys.publish import Night, Replacement, replace_all
from recsys.selection import DEFAULT_RULES, Rules
from recsys.warehouse import loan_titles, read_catalogue

log = logging.getLogger(__name__)
REASON_COLUMNS = ("reason", "reason_code", "reason_params")
RESOURCE_COLUMNS = (
    "patron_id",
    "rank",
    "item_id",
    "score",
    *REASON_COLUMNS,
    "generated_for",
    "model_version",
)
SIMILAR_TABLE = ("portal", "similar_items")
ACTIVITY_COLUMNS = (
    "patron_id",
    "rank",
    "event_id",
    "score",
    *REASON_COLUMNS,
    "generated_for",
    "model_version",
)
# What the portal shows beside a recommendation, published with it (the portal reads only
# portal): every item of the catalogue and every event.
ITEMS = (
    ("portal", "items"),
    ("item_id", "title", "author", "call_number", "clc_class", "generated_for"),
    "select item_id, title, author, call_number, clc_class, %(night)s::date"
    " from marts.dim_items where title is not null",
)
EVENTS = (
    ("portal", "events"),
    (
        "event_id",
        "title",
        "category",
        "starts_at",
        "ends_at",
        "place",
        "seats_left",
        "generated_for",
    ),
    "select event_id, title, category, starts_at, ends_at, location, seats_left,"
    " %(night)s::date from marts.dim_events where title is not null",
)


@dataclass(frozen=True)
class NightlyResult:
    """What the run measured and published."""

    model: Metrics  # the published candidate's, on the validation split
    popularity: Metrics  # the most-borrowed list's, on the same readers
    published_model: str  # the candidate's name
    model_version: str
    rows_published: int
    users_with_recommendations: int
    activity_rows_published: int = 0
    users_with_activities: int = 0
    activity_model_version: str = ""
    similar_rows_published: int = 0
    similar_model_version: str = ""  # the published candidate's, or item-neighbours'
    fallback_users: int = 0
    gate: str = field(default="")  # why the published candidate was published
    selected: bool = False  # chosen by tonight's scores (False: kept, or no selection tonight)
    # Every candidate scored tonight: name -> (nDCG@10, interval low, interval high).
    candidates: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    # False when the portal already served a newer night and was left as it is (a re-run of an
    # older day); ``portal_kept`` then says why.
    published: bool = True
    portal_kept: str = ""
    published_at: str | None = None  # portal.publication's, ISO 8601
    # Wall seconds per step, for the benchmark: read, evaluate, books_matrix, books_train,
    # books_recommend_all, similar, events, publish.
    seconds: dict[str, float] = field(default_factory=dict)
    # The night (ISO date) each ALS fit started from (recsys.warm), None for a cold fit.
    warm_started: dict[str, str | None] = field(default_factory=dict)


def _portal(rows, patrons, data_date, version):
    return [
        (
            patrons[user],
            rank,
            target,
            score,
            reason.english,
            reason.code,
            reason.params_json,
            data_date,
            version,
        )
        for user, rank, target, score, reason in rows
    ]


def _log(kind, rows, data_date, version):
    return [
        (kind, user, rank, target, score, data_date, version, reason.code, reason.params_json)
        for user, rank, target, score, reason in rows
    ]


def _details(conn, spec, data_date) -> Replacement:
    table, columns, query = spec
    return Replacement(table, columns, conn.execute(query, {"night": data_date}).fetchall())


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


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def run(
    data_date: date,
    run_id: str,
    url: str | None = None,
    rules: Rules = DEFAULT_RULES,
    candidates: Sequence[Candidate] = CANDIDATES,
) -> NightlyResult:
    """Choose the recommender, train it, publish both portal tables and record every
    candidate's score (``LIBCRM_MODEL_SELECTION`` says on which nights all are scored)."""
    url = url or config.database_url()
    schedule = settings.load().model_selection
    clock = _Stopwatch()
    with db.connect(url) as conn:
        catalogue = read_catalogue(conn)
        clock.lap("read")
        choice, split, starts = choosing.choose(
            conn, catalogue, data_date, schedule, rules, candidates
        )
        (log.info if choice.name != BASELINE else log.warning)(
            "recommender for %s: %s", data_date, choice.reason
        )
        clock.lap("evaluate")
        intake = feedback.take_in(conn, catalogue.patrons, data_date)
        log.info("from the portal: %s", intake)
        books = resources.recommend(
            catalogue,
            data_date,
            BY_NAME[choice.name],
            feedback.dismissed(conn, "resource"),
            starts.prepare(choice.name),
        )
        clock.lap_parts("books", books.seconds)
        similar_rows = similar.for_night(books.model, choice.name, books.axes, catalogue, data_date)
        clock.lap("similar")
        events = activities.read_events(conn, catalogue.departments)
        eligible = sorted(catalogue.patrons)
        event_rows = activities.recommend_events(
            events,
            eligible,
            catalogue.departments,
            loan_titles(catalogue),
            dismissed=feedback.dismissed(conn, "activity"),
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
                Replacement(SIMILAR_TABLE, similar.COLUMNS, similar_rows),
                _details(conn, ITEMS, data_date),
                _details(conn, EVENTS, data_date),
            ],
            _log("resource", books.rows, data_date, books.version)
            + _log("activity", event_rows, data_date, event_version),
            data_date,
            Night(data_date, books.version, event_version),
        )
        if publication.published:
            starts.save(choice.name, books.model, books.axes.data.items if books.axes else None)
            if starts.production:
                log.info("%s warm-started from the night of %s", choice.name, starts.production)
        written, events_written = publication.rows_written[:2]
        cutoff = split.cutoff.astype(object).date()
        choosing.store(conn, run_id, data_date, choice, cutoff)
        clock.lap("publish")
    return NightlyResult(
        model=choice.score(choice.name).metrics,
        popularity=choice.score(BASELINE).metrics,
        published_model=choice.name,
        model_version=books.version,
        rows_published=written,
        users_with_recommendations=len({row[0] for row in books.rows}),
        activity_rows_published=events_written,
        users_with_activities=len({row[0] for row in event_rows}),
        activity_model_version=event_version,
        similar_rows_published=publication.rows_written[2],
        similar_model_version=similar_rows[0][-1] if similar_rows else "",
        fallback_users=books.fallback_users,
        gate=choice.reason,
        selected=choice.selected,
        candidates={s.name: (s.metrics.ndcg_at_10, s.ci_low, s.ci_high) for s in choice.scores},
        published=publication.published,
        portal_kept=publication.reason,
        published_at=publication.published_at,
        seconds=clock.laps,
        warm_started={
            "validation": _iso(starts.validation),
            "production": _iso(starts.production),
        },
    )
