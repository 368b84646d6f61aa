"""Warm starts: on a night without selection, the kept candidate's ALS starts from the item
factors it learnt the night before and runs a few iterations instead of fifteen.

One night adds a day of loans to years of them, so yesterday's factors are nearly tonight's
answer; a selection night (weekly by default) fits every model from scratch, so whatever a
warm start drifts from the cold fit never lasts more than a week. The benchmark's "ALS kept"
reference measures the effect on time and quality (docs/recommender.md). Factors are stored in
half precision: they are a starting point, not a model.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import psycopg

from recsys.candidates import als_parts
from recsys.models import Als

VALIDATION, PRODUCTION = "validation", "production"
# Iterations of a warm-started fit (a cold fit runs Als.iterations, 15): the item side is
# already where yesterday's loans put it, and a few sweeps move the readers and the day's new
# loans into place (tests/test_recsys_warm.py and the benchmark compare it with a cold fit).
WARM_ITERATIONS = 3
# An older start than this is not used: after a longer gap a cold fit is as cheap as a
# mistake is costly.
MAX_AGE_DAYS = 7
# The scale of implicit's own random start, for works that were not on the earlier axis.
_RANDOM_SCALE = 0.01


def _encode(items: np.ndarray, factors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, items=items.astype(str), factors=factors.astype(np.float16))
    return buffer.getvalue()


def _decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
        return stored["items"], stored["factors"]


@dataclass(frozen=True)
class Fitted:
    """One fitted ALS to keep: its candidate, settings (``repr``), the night, the last day
    it learnt from, its item axis and factors."""

    purpose: str
    candidate: str
    settings: str
    data_date: date
    learnt_until: date
    items: np.ndarray = field(repr=False)
    item_factors: np.ndarray = field(repr=False)


def save(conn: psycopg.Connection, fitted: Fitted) -> None:
    """Keep ``fitted`` as the start of the next night; a re-run of an older night leaves a
    newer night's factors in place."""
    conn.execute(
        "insert into recsys.warm_factors (purpose, candidate, settings, data_date, "
        "learnt_until, item_factors) values (%s, %s, %s, %s, %s, %s) "
        "on conflict (purpose) do update set candidate = excluded.candidate, "
        "settings = excluded.settings, data_date = excluded.data_date, "
        "learnt_until = excluded.learnt_until, item_factors = excluded.item_factors, "
        "saved_at = now() where recsys.warm_factors.data_date <= excluded.data_date",
        [
            fitted.purpose,
            fitted.candidate,
            fitted.settings,
            fitted.data_date,
            fitted.learnt_until,
            _encode(fitted.items, fitted.item_factors),
        ],
    )


def start(
    conn: psycopg.Connection,
    purpose: str,
    candidate: str,
    als: Als,
    data_date: date,
    learnt_until: date,
    items: np.ndarray,
) -> date | None:
    """Give ``als`` the factors ``candidate`` learnt for ``purpose`` with the same settings on
    an earlier night (at most ``MAX_AGE_DAYS`` before ``data_date``) from nothing after
    ``learnt_until``, on the axis ``items``: works new since then start at random, as in a
    cold fit. Returns that night, or None when there is no such start (the fit is cold).

    ``learnt_until`` keeps a validation fit from starting where tonight's test window was
    learnt (a night whose window grew has an earlier cutoff than the night before).
    """
    row = conn.execute(
        "select data_date, item_factors from recsys.warm_factors where purpose = %s "
        "and candidate = %s and settings = %s and data_date < %s and data_date >= %s "
        "and learnt_until <= %s",
        [
            purpose,
            candidate,
            repr(als),
            data_date,
            data_date - timedelta(days=MAX_AGE_DAYS),
            learnt_until,
        ],
    ).fetchone()
    if row is None:
        return None
    stored_items, stored = _decode(row[1])
    rng = np.random.default_rng(als.random_state)
    factors = rng.random((len(items), stored.shape[1]), dtype=np.float32) * _RANDOM_SCALE
    position = {item: index for index, item in enumerate(stored_items)}
    known = np.array([position.get(item, -1) for item in items], dtype=np.int64)
    factors[known >= 0] = stored[known[known >= 0]]
    als.start(factors, WARM_ITERATIONS)
    return row[0]


class Starts:
    """One night's warm starts. ``recsys.selection.score`` calls ``before`` and ``after``
    around each candidate's validation fit: on a night without selection the ``kept``
    candidate starts from its factors of an earlier split, and each ALS candidate's fitted
    factors are held so that the published one's can be kept. ``prepare`` does the same for
    the production fit (``recsys.resources.recommend``). Nothing is written until ``save``,
    once the night is published. ``validation`` and ``production`` name the night each fit
    started from (None: cold)."""

    def __init__(
        self,
        conn: psycopg.Connection,
        data_date: date,
        cutoff: date,
        items: np.ndarray,
        kept: str | None,
    ) -> None:
        self.conn, self.data_date, self.cutoff, self.items = conn, data_date, cutoff, items
        self.kept = kept  # the candidate to warm-start; None on a selection night
        self.validation: date | None = None
        self.production: date | None = None
        self._held: dict[str, Fitted] = {}
        self._weighting: dict[str, object] = {}
        self._production_from: date | None = None

    def before(self, candidate, parts: list[Als]) -> None:
        if candidate.name == self.kept and len(parts) == 1:
            self.validation = start(
                self.conn,
                VALIDATION,
                candidate.name,
                parts[0],
                self.data_date,
                self.cutoff,
                self.items,
            )

    def after(self, candidate, parts: list[Als]) -> None:
        if len(parts) != 1:
            return
        settings = repr(parts[0])
        # als-blend holds als-decay's ALS (same settings and weighting): one copy serves both.
        same = next(
            (
                held
                for name, held in self._held.items()
                if held.settings == settings and self._weighting[name] == candidate.weighting
            ),
            None,
        )
        factors = same.item_factors if same else parts[0].item_factors.astype(np.float16)
        self._weighting[candidate.name] = candidate.weighting
        self._held[candidate.name] = Fitted(
            VALIDATION, candidate.name, settings, self.data_date, self.cutoff, self.items, factors
        )
        if candidate.name == self.kept and not parts[0].warm_started:
            self.validation = None  # the start was not used

    def prepare(self, candidate: str):
        """``recsys.resources.recommend``'s ``prepare`` for the published ``candidate``."""

        def prepare(model, items: np.ndarray) -> None:
            parts = als_parts(model)
            if candidate == self.kept and len(parts) == 1:
                self._production_from = start(
                    self.conn,
                    PRODUCTION,
                    candidate,
                    parts[0],
                    self.data_date,
                    self.data_date,
                    items,
                )

        return prepare

    def save(self, published: str, model, items: np.ndarray | None) -> None:
        """Keep the published candidate's validation and production factors (when it is an
        ALS candidate) as the next night's starts."""
        if published in self._held:
            save(self.conn, self._held[published])
        parts = als_parts(model) if model is not None else []
        if len(parts) != 1 or parts[0].item_factors is None or items is None:
            return
        als = parts[0]
        self.production = self._production_from if als.warm_started else None
        save(
            self.conn,
            Fitted(
                PRODUCTION,
                published,
                repr(als),
                self.data_date,
                self.data_date,
                items,
                als.item_factors,
            ),
        )
