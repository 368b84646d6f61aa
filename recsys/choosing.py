"""Which candidate a night publishes: a full selection on the library's schedule, the previous
choice re-checked against the most-borrowed list on the other nights, and every candidate's
score recorded in ``quality.recommender_evaluations``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date

import numpy as np
import psycopg

from recsys import resources, selection, validation, warm
from recsys.candidates import BASELINE, CANDIDATES, Candidate, available
from recsys.selection import DEFAULT_RULES, Choice, Rules
from recsys.warehouse import Catalogue

# A weekly schedule selects again once the last selection is this many days old (a re-run or
# a missed night does not shift the week).
SELECTION_INTERVAL_DAYS = 7

log = logging.getLogger(__name__)


def previous_choice(conn: psycopg.Connection, data_date: date) -> tuple[str | None, date | None]:
    """The candidate published on the latest night before ``data_date``, and the night of the
    latest selection before it (None when there was none)."""
    published = conn.execute(
        "select model from quality.recommender_evaluations "
        "where data_date < %s and published order by data_date desc, evaluated_at desc limit 1",
        [data_date],
    ).fetchone()
    selected = conn.execute(
        "select max(data_date) from quality.recommender_evaluations "
        "where data_date < %s and selected",
        [data_date],
    ).fetchone()
    return (published[0] if published else None), selected[0]


def selection_due(schedule: str, data_date: date, previous: str | None, last: date | None) -> bool:
    """Whether tonight scores every candidate (else only the previous choice and baseline)."""
    if schedule == "nightly" or previous is None or last is None:
        return True
    return (data_date - last).days >= SELECTION_INTERVAL_DAYS


def keep_unless_beaten(choice: Choice, previous: str, rules: Rules = DEFAULT_RULES) -> Choice:
    """A night without selection: keep ``previous`` unless it scores below the baseline on a
    window fit to decide on (the rules' minimum), then publish the baseline."""
    if not choice.selected:
        return choice  # the window was too thin: ``decide`` already kept the previous choice
    kept = choice.score(previous)
    baseline = choice.score(BASELINE)
    if kept is None or kept.metrics.ndcg_at_10 < baseline.metrics.ndcg_at_10:
        name = BASELINE
        why = f"{previous} scored below the most-borrowed list; {BASELINE} published instead"
    else:
        name = previous
        why = f"{previous} kept (no selection tonight) and not below the most-borrowed list"
    reason = (
        f"{why}: nDCG@10 {kept.metrics.ndcg_at_10 if kept else float('nan'):.4f} vs "
        f"{baseline.metrics.ndcg_at_10:.4f} on {choice.readers} readers"
    )
    return selection.make_choice(
        name, False, reason, choice.scores, choice.readers, choice.loans, rules
    )


def choose(
    conn: psycopg.Connection,
    catalogue: Catalogue,
    data_date: date,
    schedule: str,
    rules: Rules = DEFAULT_RULES,
    candidates: Sequence[Candidate] = CANDIDATES,
) -> tuple[Choice, validation.Split, warm.Starts]:
    """Score the night's candidates on the validation split and decide what to publish; the
    night's warm starts come with it (``recsys.warm``: the kept candidate's, on a night
    without selection)."""
    previous, last = previous_choice(conn, data_date)
    pool = available(
        candidates,
        dated=True,
        departments=bool(catalogue.departments),
        classes=bool(catalogue.item_classes),
    )
    names = {candidate.name for candidate in pool}
    if previous not in names:
        previous = None
    due = selection_due(schedule, data_date, previous, last)
    if not due:
        pool = [c for c in pool if c.name in (BASELINE, previous)]
    loans_log = resources.validation_log(catalogue)
    split = validation.windowed(loans_log, resources.validation_end(data_date), rules)
    axes = resources.split_axes(catalogue, split)
    cutoff = split.cutoff.astype(object).date()
    starts = warm.Starts(conn, data_date, cutoff, split.log.all_items, None if due else previous)
    scores, readers, loans = selection.score(
        pool,
        split.train,
        split.test,
        axes.blocked,
        None,  # the items are works already (recsys.warehouse)
        axes.user_groups,
        axes.item_classes,
        rules,
        starts,
    )
    choice = selection.decide(scores, readers, loans, previous, rules)
    if not due:
        choice = keep_unless_beaten(choice, previous, rules)
    if starts.validation:
        log.info(
            "validation fit of %s warm-started from the night of %s", previous, starts.validation
        )
    return choice, split, starts


def store(
    conn: psycopg.Connection, run_id: str, data_date: date, choice: Choice, cutoff: date
) -> None:
    """Replace the run's rows: one per candidate scored, the published one marked."""
    with conn.transaction():
        conn.execute("delete from quality.recommender_evaluations where run_id = %s", [run_id])
        for score in choice.scores:
            m = score.metrics
            conn.execute(
                "insert into quality.recommender_evaluations (run_id, data_date, model, cutoff, "
                "users_evaluated, hit_rate_at_10, precision_at_10, ndcg_at_10, coverage, "
                "published, candidate, ci_low, ci_high, selected, decision) "
                "values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [
                    run_id,
                    data_date,
                    score.name,
                    cutoff,
                    m.users_evaluated,
                    m.hit_rate_at_10,
                    m.precision_at_10,
                    m.ndcg_at_10,
                    m.coverage,
                    score.name == choice.name,
                    score.candidate.description,
                    _finite(score.ci_low),
                    _finite(score.ci_high),
                    choice.selected and score.name == choice.name,
                    choice.reason,
                ],
            )


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None
