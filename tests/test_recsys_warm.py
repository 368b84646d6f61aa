"""Warm starts: a night without selection starts the kept ALS from the factors of the night
before (validation and production fits), never from a later night's, another model's or a
stale one's, and scores like a cold fit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import numpy as np
import psycopg
import pytest
from psycopg import sql

from recsys import nightly, warm
from recsys.candidates import BASELINE, BY_NAME
from recsys.models import Als
from recsys.selection import Rules
from tests.test_recsys_nightly import MARTS
from tests.test_recsys_selection import LIMITS, TERM_NIGHT, _zipf

CANDIDATES = (BY_NAME[BASELINE], BY_NAME["als-32-binary"])
NEXT = TERM_NIGHT + timedelta(days=1)


def _subject_library():
    """160 readers of four subjects (not their departments), each borrowing ten of their
    subject's 40 books over the term: what a reader read says more than what is popular."""
    rng = np.random.default_rng(7)
    users = [(f"u{n:03d}", ("Physics", "History")[n % 2], False) for n in range(160)]
    items = [
        (f"I{n:03d}", f"Book {n}", "A", "OKTI"[n // 40], True, f"I{n:03d}") for n in range(160)
    ]
    loans = []
    for n, (user, _, _) in enumerate(users):
        base = 40 * ((n // 2) % 4)
        for k, item in enumerate(rng.choice(40, 10, replace=False, p=_zipf(40))):
            moment = datetime(2026, 1, 5) + timedelta(days=int(rng.integers(0, 72)), hours=k)
            loans.append((user, f"I{base + item:03d}", moment, True))
    return users, items, loans


@pytest.fixture
def library(fresh_warehouse_url, monkeypatch):
    monkeypatch.setenv("LIBCRM_MODEL_SELECTION", "weekly")
    users, items, loans = _subject_library()
    with psycopg.connect(fresh_warehouse_url) as conn:
        conn.execute(MARTS)
        profiles = [(user, "active") for user, _, _ in users]
        for table, rows in (
            ("dim_users", users),
            ("user_profiles", profiles),
            ("dim_items", items),
            ("fct_loans", loans),
        ):
            marks = sql.SQL(", ").join(sql.SQL("%s") for _ in rows[0])
            insert = sql.SQL("insert into {} values ({})").format(
                sql.Identifier("marts", table), marks
            )
            conn.cursor().executemany(insert, rows)
        conn.cursor().executemany(
            "insert into identity.patron_keys (user_key, patron_id, barcode) values (%s, %s, %s)",
            [(user, f"P{user}", f"B{user}") for user, _, _ in users],
        )
    return fresh_warehouse_url


def _stored(url):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select purpose, candidate, data_date, learnt_until from recsys.warm_factors "
            "order by purpose"
        ).fetchall()


def _cutoff(url, run_id):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select distinct cutoff from quality.recommender_evaluations where run_id = %s",
            [run_id],
        ).fetchone()[0]


def test_the_night_after_a_selection_starts_both_fits_from_its_factors(library, caplog):
    first = nightly.run(TERM_NIGHT, "first", library, LIMITS, CANDIDATES)
    assert first.published_model == "als-32-binary" and first.selected
    assert first.warm_started == {"validation": None, "production": None}
    # Validation factors learnt until the split's cutoff, production ones until the night.
    assert _stored(library) == [
        ("production", "als-32-binary", TERM_NIGHT, TERM_NIGHT),
        ("validation", "als-32-binary", TERM_NIGHT, _cutoff(library, "first")),
    ]
    with caplog.at_level(logging.INFO, logger="recsys"):
        second = nightly.run(NEXT, "second", library, LIMITS, CANDIDATES)
    assert second.published_model == "als-32-binary" and not second.selected
    night = TERM_NIGHT.isoformat()
    assert second.warm_started == {"validation": night, "production": night}
    assert f"validation fit of als-32-binary warm-started from the night of {night}" in (
        caplog.text
    )
    assert _stored(library) == [
        ("production", "als-32-binary", NEXT, NEXT),
        ("validation", "als-32-binary", NEXT, _cutoff(library, "second")),
    ]


def test_a_re_run_of_an_older_night_fits_cold_and_keeps_the_later_factors(library):
    for offset in range(3):
        nightly.run(TERM_NIGHT + timedelta(days=offset), f"n{offset}", library, LIMITS, CANDIDATES)
    later = _stored(library)
    again = nightly.run(NEXT, "again", library, LIMITS, CANDIDATES)
    assert not again.selected  # the week's choice kept, as on its first run
    assert again.warm_started == {"validation": None, "production": None}
    assert _stored(library) == later


def test_a_night_that_selects_fits_cold_even_when_its_window_is_too_thin(library, monkeypatch):
    nightly.run(TERM_NIGHT, "first", library, LIMITS, CANDIDATES)
    monkeypatch.setenv("LIBCRM_MODEL_SELECTION", "nightly")
    thin = Rules(min_readers=10**6, min_loans=10**6)
    second = nightly.run(NEXT, "thin", library, thin, CANDIDATES)
    assert second.published_model == "als-32-binary" and not second.selected  # kept
    assert second.warm_started == {"validation": None, "production": None}


def test_a_warm_night_scores_like_a_cold_fit_of_the_same_night(library, monkeypatch):
    nightly.run(TERM_NIGHT, "first", library, LIMITS, CANDIDATES)
    warm_night = nightly.run(NEXT, "warm", library, LIMITS, CANDIDATES)
    monkeypatch.setenv("LIBCRM_MODEL_SELECTION", "nightly")  # every fit cold
    cold_night = nightly.run(NEXT, "cold", library, LIMITS, CANDIDATES)
    assert warm_night.warm_started["validation"] and warm_night.warm_started["production"]
    assert cold_night.warm_started == {"validation": None, "production": None}
    warm_ndcg, cold_ndcg = warm_night.model.ndcg_at_10, cold_night.model.ndcg_at_10
    assert warm_ndcg == pytest.approx(cold_ndcg, rel=0.1)
    assert warm_ndcg > 1.2 * warm_night.popularity.ndcg_at_10


def _fitted(als, night, items, purpose=warm.PRODUCTION, learnt_until=None):
    return warm.Fitted(
        purpose, "als", repr(als), night, learnt_until or night, items, als.item_factors
    )


def test_a_start_maps_works_by_id_and_refuses_other_settings_and_old_or_later_nights(
    fresh_warehouse_url,
):
    rng = np.random.default_rng(1)
    als = Als(factors=4)
    als.item_factors = rng.random((3, 4), dtype=np.float32)
    items = np.array(["W1", "W2", "W3"])
    production = warm.PRODUCTION
    with psycopg.connect(fresh_warehouse_url) as conn:
        warm.save(conn, _fitted(als, TERM_NIGHT, items))
        tonight = np.array(["W3", "W9", "W1"])  # W2 gone, W9 new
        fresh = Als(factors=4)
        assert warm.start(conn, production, "als", fresh, NEXT, NEXT, tonight) == TERM_NIGHT
        factors, iterations = fresh._start
        assert iterations == warm.WARM_ITERATIONS
        np.testing.assert_allclose(factors[[0, 2]], als.item_factors[[2, 0]], atol=1e-3)
        assert np.all(factors[1] < 0.01)  # a new work starts at random, as in a cold fit
        for other, night in ((Als(factors=8), NEXT), (Als(factors=4), TERM_NIGHT)):
            assert warm.start(conn, production, "als", other, night, night, items) is None
        assert warm.start(conn, production, "other", Als(factors=4), NEXT, NEXT, items) is None
        late = TERM_NIGHT + timedelta(days=warm.MAX_AGE_DAYS + 1)
        assert warm.start(conn, production, "als", Als(factors=4), late, late, items) is None
        # A validation start must have learnt nothing after tonight's cutoff.
        cutoff = TERM_NIGHT - timedelta(days=14)
        warm.save(conn, _fitted(als, TERM_NIGHT, items, warm.VALIDATION, cutoff))
        earlier = cutoff - timedelta(days=1)
        assert (
            warm.start(conn, warm.VALIDATION, "als", Als(factors=4), NEXT, earlier, items) is None
        )
        assert warm.start(conn, warm.VALIDATION, "als", Als(factors=4), NEXT, cutoff, items)
        # A re-run of an older night does not replace a later night's factors.
        warm.save(conn, _fitted(als, TERM_NIGHT - timedelta(days=1), items))
        assert warm.start(conn, production, "als", Als(factors=4), NEXT, NEXT, items) == TERM_NIGHT
