"""Book recommendations from the marts: the nightly holdout and the rows to publish."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np

from recsys import interactions
from recsys.blend import Blend
from recsys.evaluate import K, Metrics, holdout, recommend_all
from recsys.models import Als, GroupPopularity, Popularity
from recsys.rerank import Diversified
from recsys.warehouse import Catalogue

# The test window of the nightly holdout: the last two weeks of loans.
HOLDOUT_DAYS = 14
# Users with fewer books in their history than this get their department's popular books.
MIN_HISTORY = 2
# Weight of "popular in my department" next to ALS (both scaled per user); measured in
# docs/recommender.md: it lifts hit rate on the simulator and costs nothing on data without
# departments.
DEPARTMENT_WEIGHT = 0.3
# No more than this many of a user's ten books from one CLC class (None: no cap); a tighter
# cap costs hit rate, since most readers stay within their department's class.
CLASS_CAP = 6
_MIDNIGHT = datetime.min.time()
POPULAR_REASON = "among the books most borrowed lately"
DEPARTMENT_REASON = "popular in your department ({department}) lately"


@dataclass(frozen=True)
class Axes:
    """The matrix axes with the per-user and per-item side information on them."""

    data: interactions.Interactions
    user_groups: np.ndarray  # department code per user, -1 for none
    departments: np.ndarray  # department name per code
    item_classes: np.ndarray  # CLC class code per item, -1 for none
    works: np.ndarray  # work (title and author) code per item
    blocked: np.ndarray  # never recommend: lost, withdrawn, not for loan, not a book


def personal_model(user_groups: np.ndarray, item_classes: np.ndarray) -> Diversified:
    """The production model: ALS blended with department popularity, capped per class."""
    return Diversified(
        Blend(Als(), GroupPopularity(user_groups), DEPARTMENT_WEIGHT), item_classes, CLASS_CAP
    )


def _axes(catalogue: Catalogue, data: interactions.Interactions) -> Axes:
    names = np.array([catalogue.departments.get(user, "") for user in data.users], dtype=object)
    groups = interactions.codes(names)
    departments = np.array(sorted({name for name in names if name}), dtype=object)
    classes = np.array([catalogue.item_classes.get(item, "") for item in data.items], object)
    works = np.array([catalogue.item_works.get(item, item) for item in data.items], object)
    blocked = np.array([item not in catalogue.recommendable for item in data.items], dtype=bool)
    return Axes(
        data, groups, departments, interactions.codes(classes), interactions.codes(works), blocked
    )


def training_axes(catalogue: Catalogue, until: np.datetime64, users, items) -> Axes:
    """Loans and weaker signals before ``until``, decayed to it, on fixed axes."""
    s_users, s_items, s_times, s_weights = catalogue.signals
    all_users = np.concatenate([catalogue.loan_users, s_users])
    all_items = np.concatenate([catalogue.loan_items, s_items])
    times = np.concatenate([catalogue.loan_times, s_times])
    weights = np.concatenate([np.ones(len(catalogue.loan_users)), s_weights])
    before = times < until
    decay = interactions.decay_weights(times[before], until.astype(datetime))
    data = interactions.build(
        all_users[before], all_items[before], weights[before] * decay, users, items
    )
    return _axes(catalogue, data)


def evaluate(catalogue: Catalogue, data_date: date) -> tuple[Metrics, Metrics]:
    """Temporal holdout: train before the last HOLDOUT_DAYS, test on the books borrowed then."""
    cutoff = np.datetime64(
        datetime.combine(data_date - timedelta(days=HOLDOUT_DAYS - 1), _MIDNIGHT)
    )
    users = np.unique(np.concatenate([catalogue.loan_users, catalogue.signals[0]]))
    items = np.unique(np.concatenate([catalogue.loan_items, catalogue.signals[1]]))
    axes = training_axes(catalogue, cutoff, users, items)
    after = catalogue.loan_times >= cutoff
    test = interactions.build(
        catalogue.loan_users[after], catalogue.loan_items[after], np.ones(after.sum()), users, items
    )
    model = personal_model(axes.user_groups, axes.item_classes)
    train = axes.data.matrix
    return (
        holdout(model, train, test.matrix, axes.blocked, axes.works),
        holdout(Popularity(), train, test.matrix, axes.blocked, axes.works),
    )


@dataclass(frozen=True)
class Published:
    """Rows ``(user_key, rank, item_id, score, reason)`` and who got what kind of list.

    ``seconds`` holds the wall time of each step: ``matrix`` (build the training matrix and
    exclusions), ``train`` (fit the model) and ``recommend_all`` (rank, filter, cap and
    explain every eligible user's list).
    """

    rows: list[tuple]
    version: str
    personal_users: int
    fallback_users: int
    seconds: dict[str, float] = field(default_factory=dict)


def production_axes(catalogue: Catalogue, data_date: date) -> tuple[Axes, np.ndarray]:
    """The nightly training matrix (everything up to the end of ``data_date``) on axes that
    hold every eligible patron, and the eligible patrons' ids."""
    until = np.datetime64(datetime.combine(data_date + timedelta(days=1), _MIDNIGHT))
    eligible = np.array(sorted(catalogue.patrons), dtype=str)
    users = np.unique(np.concatenate([eligible, catalogue.loan_users, catalogue.signals[0]]))
    items = np.unique(np.concatenate([catalogue.loan_items, catalogue.signals[1]]))
    return training_axes(catalogue, until, users, items), eligible


def recommend(catalogue: Catalogue, data_date: date, use_model: bool) -> Published:
    """Train on everything up to the end of ``data_date`` and rank books for eligible users."""
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    axes, eligible = production_axes(catalogue, data_date)
    data = axes.data
    seen = (data.matrix > 0).tocsr()
    exclude = interactions.exclude_same_work(seen, axes.works)
    history = np.diff(seen.indptr)
    rows = np.flatnonzero(np.isin(data.users, eligible))
    personal = rows[history[rows] >= MIN_HISTORY] if use_model else rows[:0]
    fallback = np.setdiff1d(rows, personal)
    version = f"{'als' if use_model else 'popularity'}-{data_date:%Y%m%d}"
    seconds["matrix"] = time.perf_counter() - started
    published: list[tuple] = []

    def emit(model, chosen, reasons):
        """Append the rows of ``chosen`` users; ``reasons(ids, valid)`` gives a text per slot."""
        ids, scores = recommend_all(model, chosen, K, exclude, axes.blocked)
        valid = np.isfinite(scores)
        users = np.broadcast_to(data.users[chosen][:, None], ids.shape)[valid]
        ranks = np.cumsum(valid, axis=1)[valid]
        texts = reasons(ids, valid)[valid]
        published.extend(
            zip(
                users.tolist(),
                ranks.tolist(),
                data.items[ids[valid]].tolist(),
                scores[valid].tolist(),
                texts.tolist(),
                strict=True,
            )
        )

    if use_model:
        by_department = GroupPopularity(axes.user_groups).fit(data.matrix)
        department_reasons = np.array(
            [DEPARTMENT_REASON.format(department=name) for name in axes.departments]
            + [POPULAR_REASON],
            dtype=object,
        )

        def popular_in_department(ids, valid):
            codes = axes.user_groups[fallback]
            text = department_reasons[np.where(codes >= 0, codes, len(department_reasons) - 1)]
            return np.broadcast_to(text[:, None], ids.shape)

        emit(
            Diversified(by_department, axes.item_classes, CLASS_CAP),
            fallback,
            popular_in_department,
        )
    else:
        emit(
            Popularity().fit(data.matrix),
            fallback,
            lambda ids, valid: np.full(ids.shape, POPULAR_REASON, dtype=object),
        )
    if len(personal):
        trained = time.perf_counter()
        model = personal_model(axes.user_groups, axes.item_classes).fit(data.matrix)
        seconds["train"] = time.perf_counter() - trained
        because = np.array(
            [
                f"because you borrowed 《{catalogue.item_titles.get(item, item)}》"
                for item in data.items
            ],
            dtype=object,
        )

        def closest_loan(ids, valid):
            return because[model.closest_histories(ids, valid, seen[personal])]

        emit(model, personal, closest_loan)
    seconds["recommend_all"] = (
        time.perf_counter() - started - seconds["matrix"] - seconds.get("train", 0.0)
    )
    return Published(
        published,
        version,
        len(personal),
        len(fallback),
        {step: round(value, 3) for step, value in seconds.items()},
    )
