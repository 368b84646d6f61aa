"""Warm starts: on a night without selection, the kept candidate's ALS starts from the item
factors it learnt the night before and runs a few iterations instead of fifteen.

One night adds a day of loans to two years of them, so yesterday's factors are nearly
tonight's answer; a selection night (weekly by default) fits every model from scratch, so
whatever a warm start drifts from the cold fit never lasts more than a week. The effect on
quality and time is measured in docs/benchmarks.md. Factors are stored in half precision: they
are a starting point, not a model.
"""

from __future__ import annotations

import io
from datetime import date, timedelta

import numpy as np
import psycopg

from recsys.candidates import als_parts
from recsys.models import Als

VALIDATION, PRODUCTION = "validation", "production"
# Iterations of a warm-started fit (a cold fit runs Als.iterations, 15): the item side is
# already where yesterday's loans put it, and two or three sweeps move the readers and the
# day's new loans into place (docs/benchmarks.md compares it with a cold fit).
WARM_ITERATIONS = 3
# An older start than this is not used: after a longer gap a cold fit is as cheap as a
# mistake is costly.
MAX_AGE_DAYS = 7
# The scale of implicit's own random start, for works that were not on yesterday's axis.
_RANDOM_SCALE = 0.01


def _encode(items: np.ndarray, factors: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, items=items.astype(str), factors=factors.astype(np.float16))
    return buffer.getvalue()


def _decode(blob: bytes) -> tuple[np.ndarray, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as stored:
        return stored["items"], stored["factors"]


def save(
    conn: psycopg.Connection,
    purpose: str,
    candidate: str,
    settings: str,
    data_date: date,
    items: np.ndarray,
    item_factors: np.ndarray,
) -> None:
    """Keep a candidate's item factors (on the axis ``items``; ``settings`` is its ALS's
    ``repr``) as the start of the next night; a re-run of an older night leaves a newer
    night's factors in place."""
    conn.execute(
        "insert into recsys.warm_factors (purpose, candidate, settings, data_date, item_factors) "
        "values (%s, %s, %s, %s, %s) on conflict (purpose) do update set "
        "candidate = excluded.candidate, settings = excluded.settings, "
        "data_date = excluded.data_date, item_factors = excluded.item_factors, saved_at = now() "
        "where recsys.warm_factors.data_date <= excluded.data_date",
        [purpose, candidate, settings, data_date, _encode(items, item_factors)],
    )


def start(
    conn: psycopg.Connection,
    purpose: str,
    candidate: str,
    als: Als,
    data_date: date,
    items: np.ndarray,
) -> date | None:
    """Give ``als`` the factors ``candidate`` learnt for ``purpose`` on a night before
    ``data_date`` (at most ``MAX_AGE_DAYS`` before) with the same settings, on the axis
    ``items``: works new since then start at random, as in a cold fit. Returns that night, or
    None when there is no such start (the fit is then cold)."""
    row = conn.execute(
        "select data_date, item_factors from recsys.warm_factors where purpose = %s "
        "and candidate = %s and settings = %s and data_date < %s and data_date >= %s",
        [purpose, candidate, repr(als), data_date, data_date - timedelta(days=MAX_AGE_DAYS)],
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


class ValidationStarts:
    """The warm starts of one night's validation fits (``recsys.selection.score`` calls
    ``before`` and ``after`` around each candidate's fit): ``warm`` (the kept candidate on a
    night without selection) starts from its factors of an earlier split, and every ALS
    candidate's factors are kept so that the published one's can be saved for the next.

    Validation factors are dated by their split's ``cutoff``, not by the night: a start must
    have learnt nothing after tonight's cutoff, or the test window would leak into it (a
    night whose window grew has an earlier cutoff than the night before).
    """

    def __init__(
        self, conn: psycopg.Connection, cutoff: date, items: np.ndarray, warm: str | None
    ) -> None:
        self.conn, self.cutoff, self.items, self.warm = conn, cutoff, items, warm
        self.started: date | None = None
        self._fitted: dict[str, tuple[str, np.ndarray]] = {}

    def before(self, candidate, parts: list[Als]) -> None:
        if candidate.name == self.warm and len(parts) == 1:
            after_cutoff = self.cutoff + timedelta(days=1)  # factors learnt up to the cutoff
            self.started = start(
                self.conn, VALIDATION, candidate.name, parts[0], after_cutoff, self.items
            )

    def after(self, candidate, parts: list[Als]) -> None:
        if len(parts) == 1:
            self._fitted[candidate.name] = (
                repr(parts[0]),
                parts[0].item_factors.astype(np.float16),
            )

    def save(self, published: str) -> None:
        """Keep the validation factors of ``published`` (when it is an ALS candidate)."""
        if published in self._fitted:
            settings, factors = self._fitted[published]
            save(self.conn, VALIDATION, published, settings, self.cutoff, self.items, factors)


class ProductionStart:
    """The warm start of the night's production fit: on a night without selection the
    published candidate starts from its production factors of an earlier night; every night
    the fitted factors are kept for the next."""

    def __init__(self, conn: psycopg.Connection, data_date: date, warm: bool) -> None:
        self.conn, self.data_date, self.warm = conn, data_date, warm
        self.started: date | None = None

    def prepare(self, candidate: str):
        """``recsys.resources.recommend``'s ``prepare`` for ``candidate``."""

        def prepare(model, items: np.ndarray) -> None:
            parts = als_parts(model)
            if self.warm and len(parts) == 1:
                self.started = start(
                    self.conn, PRODUCTION, candidate, parts[0], self.data_date, items
                )

        return prepare

    def save(self, candidate: str, model, items: np.ndarray) -> None:
        """Keep the fitted production factors of ``candidate`` (when it is an ALS one)."""
        parts = als_parts(model) if model is not None else []
        if len(parts) == 1 and parts[0].item_factors is not None:
            als = parts[0]
            save(
                self.conn, PRODUCTION, candidate, repr(als), self.data_date, items, als.item_factors
            )
