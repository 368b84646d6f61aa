"""Book recommendations from the marts: the nightly holdout and the rows to publish."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import numpy as np
from scipy import sparse

from recsys import interactions
from recsys.candidates import (
    BY_NAME,
    CLASS_CAP,
    DECAYED,
    DEPARTMENT_WEIGHT,
    EVERYONE,
    MIN_HISTORY,
    Candidate,
    build,
)
from recsys.evaluate import K, recommend_all
from recsys.interactions import Weighting
from recsys.models import GroupPopularity
from recsys.reasons import Reason
from recsys.rerank import Diversified
from recsys.validation import WINDOWS_DAYS, Log, Split
from recsys.warehouse import Catalogue

__all__ = ["CLASS_CAP", "DEPARTMENT_WEIGHT", "MIN_HISTORY"]

# The test window of the events' holdout: the books' first validation window, two weeks.
HOLDOUT_DAYS = WINDOWS_DAYS[0]

_MIDNIGHT = datetime.min.time()
POPULAR_REASON = Reason("popular")
CLASS_REASON = Reason("popular_in_subjects")


@dataclass(frozen=True)
class Axes:
    """The matrix axes (readers × works) with the side information on them."""

    data: interactions.Interactions
    user_groups: np.ndarray  # department code per user, -1 for none
    departments: np.ndarray  # department name per code
    item_classes: np.ndarray  # CLC class code per work, -1 for none
    blocked: np.ndarray  # never recommend: no copy can be lent now, or not a book


def personal_model(user_groups: np.ndarray, item_classes: np.ndarray) -> Diversified:
    """The blend candidate: ALS blended with department popularity, capped per class."""
    return build(BY_NAME["als-blend"], user_groups, item_classes)


def _axes(catalogue: Catalogue, data: interactions.Interactions) -> Axes:
    names = np.array([catalogue.departments.get(user, "") for user in data.users], dtype=object)
    groups = interactions.codes(names)
    departments = np.array(sorted({name for name in names if name}), dtype=object)
    classes = np.array([catalogue.item_classes.get(item, "") for item in data.items], object)
    blocked = np.array([item not in catalogue.recommendable for item in data.items], dtype=bool)
    return Axes(data, groups, departments, interactions.codes(classes), blocked)


def training_axes(
    catalogue: Catalogue, until: np.datetime64, users, items, weighting: Weighting = DECAYED
) -> Axes:
    """Loans and weaker signals before ``until``, weighted (decayed to it) on fixed axes."""
    log = validation_log(catalogue, users, items)
    before = log.times < until
    weights = interactions.weighted(
        log.weights[before], log.times[before], until.astype(datetime), weighting
    )
    data = interactions.build(log.users[before], log.items[before], weights, users, items)
    data = interactions.Interactions(
        interactions.binarised(data.matrix, weighting), data.users, data.items
    )
    return _axes(catalogue, data)


def validation_log(catalogue: Catalogue, users=None, items=None) -> Log:
    """Loans and weaker signals on the axes ``users`` × ``items`` (by default every user and
    item with one); only loans are test targets."""
    s_users, s_items, s_times, s_weights = catalogue.signals
    all_users = np.concatenate([catalogue.loan_users, s_users])
    all_items = np.concatenate([catalogue.loan_items, s_items])
    return Log(
        all_users,
        all_items,
        np.concatenate([catalogue.loan_times, s_times]),
        np.concatenate([np.ones(len(catalogue.loan_users)), s_weights]),
        np.r_[np.ones(len(catalogue.loan_users), bool), np.zeros(len(s_users), bool)],
        np.unique(all_users) if users is None else users,
        np.unique(all_items) if items is None else items,
    )


def split_axes(catalogue: Catalogue, split: Split) -> Axes:
    """The side information (departments, classes, blocked works) of a split's axes."""
    data = interactions.Interactions(split.test, split.log.all_users, split.log.all_items)
    return _axes(catalogue, data)


def validation_end(data_date: date) -> datetime:
    """The end (exclusive) of the validation window of the night of ``data_date``."""
    return datetime.combine(data_date + timedelta(days=1), _MIDNIGHT)


@dataclass(frozen=True)
class Published:
    """Rows ``(user_key, rank, item_id, score, reason)`` (a :class:`Reason`) and who got
    what kind of list; ``item_id`` is the copy of each work the portal is given.

    ``seconds`` holds the wall time of each step: ``matrix`` (build the training matrix and
    exclusions), ``train`` (fit the model) and ``recommend_all`` (rank, filter, cap and
    explain every eligible user's list). ``model`` is the candidate fitted on ``axes`` (None
    when no reader got its lists), for the night's "more like this" lists (``recsys.similar``).
    """

    rows: list[tuple]
    version: str
    personal_users: int
    fallback_users: int
    seconds: dict[str, float] = field(default_factory=dict)
    model: object = field(default=None, repr=False)
    axes: Axes | None = field(default=None, repr=False)


def production_axes(
    catalogue: Catalogue, data_date: date, weighting: Weighting = DECAYED
) -> tuple[Axes, np.ndarray]:
    """The nightly training matrix (everything up to the end of ``data_date``) on axes that
    hold every eligible patron, and the eligible patrons' ids."""
    until = np.datetime64(datetime.combine(data_date + timedelta(days=1), _MIDNIGHT))
    eligible = np.array(sorted(catalogue.patrons), dtype=str)
    users = np.unique(np.concatenate([eligible, catalogue.loan_users, catalogue.signals[0]]))
    items = np.unique(np.concatenate([catalogue.loan_items, catalogue.signals[1]]))
    return training_axes(catalogue, until, users, items, weighting), eligible


def _fixed(reason: Reason):
    return lambda ids, valid: np.full(ids.shape, reason, dtype=object)


def _as_works(dismissed: Mapping[str, set[str]], work_of: Mapping[str, str]):
    """``user_key -> works`` of the copies each reader dismissed."""
    return {user: {work_of.get(item, item) for item in items} for user, items in dismissed.items()}


def _dismissed_matrix(data: interactions.Interactions, dismissed: Mapping[str, set[str]]):
    """Users × items: what each reader dismissed on the portal, on the matrix axes."""
    user_row = {user: row for row, user in enumerate(data.users)}
    item_column = {item: column for column, item in enumerate(data.items)}
    pairs = [
        (user_row[user], item_column[item])
        for user, items in dismissed.items()
        if user in user_row
        for item in items
        if item in item_column
    ]
    if not pairs:
        return sparse.csr_matrix(data.matrix.shape, dtype=bool)
    rows, columns = np.array(pairs, dtype=np.int64).T
    return sparse.csr_matrix(
        (np.ones(len(rows), dtype=bool), (rows, columns)), shape=data.matrix.shape
    )


def recommend(
    catalogue: Catalogue,
    data_date: date,
    candidate: Candidate,
    dismissed: Mapping[str, set[str]] | None = None,
    prepare: Callable[[Diversified, np.ndarray], None] | None = None,
) -> Published:
    """Train ``candidate`` on everything up to the end of ``data_date`` and rank books for
    eligible users: a popularity candidate for everyone, a personal one for readers with
    ``MIN_HISTORY`` books (the others get their department's popular books). Books a reader
    ``dismissed`` (``user_key -> item ids``), and their other copies, are never ranked.
    ``prepare(model, works)`` sees the candidate's model before its fit (a warm start)."""
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    axes, eligible = production_axes(catalogue, data_date, candidate.weighting)
    data = axes.data
    seen = (data.matrix > 0).tocsr()  # works: a reader had some copy of each
    shown = np.array([catalogue.shown_copies.get(work, work) for work in data.items], dtype=str)
    # A dismissed copy refuses its work: the portal is never shown another copy of it.
    refused = (
        seen + _dismissed_matrix(data, _as_works(dismissed, catalogue.work_of))
        if dismissed
        else seen
    )
    history = np.diff(seen.indptr)
    rows = np.flatnonzero(np.isin(data.users, eligible))
    everyone = candidate.audience == EVERYONE
    personal = rows[:0] if everyone else rows[history[rows] >= MIN_HISTORY]
    fallback = np.setdiff1d(rows, personal)
    version = f"{candidate.name}-{data_date:%Y%m%d}"
    seconds["matrix"] = time.perf_counter() - started
    published: list[tuple] = []
    model = None

    def emit(model, chosen, reasons):
        """Append the rows of ``chosen`` users; ``reasons(ids, valid)`` gives a reason per slot."""
        ids, scores = recommend_all(model, chosen, K, refused, axes.blocked)
        valid = np.isfinite(scores)
        users = np.broadcast_to(data.users[chosen][:, None], ids.shape)[valid]
        ranks = np.cumsum(valid, axis=1)[valid]
        texts = reasons(ids, valid)[valid]
        published.extend(
            zip(
                users.tolist(),
                ranks.tolist(),
                shown[ids[valid]].tolist(),
                scores[valid].tolist(),
                texts.tolist(),
                strict=True,
            )
        )

    department_reasons = np.empty(len(axes.departments) + 1, dtype=object)
    department_reasons[:] = [
        Reason("popular_in_department", {"department": name}) for name in axes.departments
    ] + [POPULAR_REASON]

    def popular_in_department(users):
        def reasons(ids, valid):
            codes = axes.user_groups[users]
            text = department_reasons[np.where(codes >= 0, codes, len(department_reasons) - 1)]
            return np.broadcast_to(text[:, None], ids.shape)

        return reasons

    if everyone:
        trained = time.perf_counter()
        model = build(candidate, axes.user_groups, axes.item_classes).fit(data.matrix)
        seconds["train"] = time.perf_counter() - trained
        by_group = isinstance(model.model, GroupPopularity)
        emit(
            model, fallback, popular_in_department(fallback) if by_group else _fixed(POPULAR_REASON)
        )
    else:
        # The fallback is "popular lately" whatever the candidate's own weighting.
        decayed = (
            data.matrix
            if candidate.weighting == DECAYED
            else production_axes(catalogue, data_date)[0].data.matrix
        )
        by_department = GroupPopularity(axes.user_groups).fit(decayed)
        emit(
            Diversified(by_department, axes.item_classes, CLASS_CAP),
            fallback,
            popular_in_department(fallback),
        )
    if len(personal):
        trained = time.perf_counter()
        model = build(candidate, axes.user_groups, axes.item_classes)
        if prepare is not None:
            prepare(model, data.items)
        model.fit(data.matrix)
        seconds["train"] = time.perf_counter() - trained
        because = np.empty(len(data.items), dtype=object)
        because[:] = [
            Reason("borrowed_similar", {"title": catalogue.item_titles.get(item, item)})
            for item in data.items
        ]

        def closest_loan(ids, valid):
            return because[model.contributing_histories(ids, valid, data.matrix[personal])]

        explained = hasattr(model.model, "contributing_histories")
        emit(model, personal, closest_loan if explained else _fixed(CLASS_REASON))
    seconds["recommend_all"] = (
        time.perf_counter() - started - seconds["matrix"] - seconds.get("train", 0.0)
    )
    return Published(
        published,
        version,
        len(personal),
        len(fallback),
        {step: round(value, 3) for step, value in seconds.items()},
        model,
        axes,
    )
