"""The model selection: never a clearly worse model, the simpler of two tied ones, and no
decision on a vacation's handful of readers (the previous choice or popularity is kept)."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import numpy as np
import psycopg
import pytest
from psycopg import sql
from scipy import sparse

from recsys import nightly, selection
from recsys.candidates import BASELINE, BINARY, BY_NAME, EVERYONE, PERSONAL, Candidate
from recsys.evaluate import Metrics
from recsys.models import Als, Popularity, Scorer
from recsys.selection import Rules, Score, decide
from tests.test_recsys_nightly import MARTS


class LeastBorrowed(Scorer):
    """A clearly worse model: the least-borrowed items first."""

    def fit(self, user_items):
        self.counts = np.asarray(user_items.sum(axis=0)).ravel()
        return self

    def scores(self, rows):
        return np.tile(-self.counts.astype(np.float64), (len(rows), 1))


def _clustered(readers=300, clusters=4, items_per_cluster=40, seed=3):
    """Readers of a few subjects, each borrowing 10 books of their own subject; the last 3 of
    each reader are the validation loans."""
    rng = np.random.default_rng(seed)
    train, test = sparse.lil_matrix((readers, clusters * items_per_cluster)), None
    test = sparse.lil_matrix(train.shape)
    for reader in range(readers):
        base = (reader % clusters) * items_per_cluster
        # Skewed within the subject, so that popularity is a real (beatable) baseline.
        picks = base + rng.choice(items_per_cluster, 10, replace=False, p=_zipf(items_per_cluster))
        for item in picks[:7]:
            train[reader, item] = 1
        for item in picks[7:]:
            test[reader, item] = 1
    return train.tocsr().astype(np.float32), test.tocsr().astype(np.float32)


def _zipf(size):
    weights = 1 / np.arange(1, size + 1)
    return weights / weights.sum()


def _candidate(name, complexity, make, audience=PERSONAL):
    return Candidate(name, complexity, BINARY, make, audience, name)


SMALL = Rules(min_readers=50, min_loans=100)


def _select(candidates, train, test, rules=SMALL):
    groups, classes = np.full(train.shape[0], -1), np.full(train.shape[1], -1)
    scores, readers, loans = selection.score(
        candidates, lambda weighting: train, test, np.zeros(train.shape[1], bool), None,
        groups, classes, rules,
    )  # fmt: skip
    return decide(scores, readers, loans, None, rules)


def test_a_clearly_worse_model_is_never_selected_even_as_the_simplest():
    worse = _candidate("least-borrowed", -1, lambda g, c: LeastBorrowed(), EVERYONE)
    popularity = _candidate(BASELINE, 0, lambda g, c: Popularity(), EVERYONE)
    als = _candidate("als", 5, lambda g, c: Als(factors=16, regularization=1.0))
    for seed in (1, 2, 3):
        train, test = _clustered(seed=seed)
        choice = _select([worse, popularity, als], train, test)
        scored = {s.name: s.metrics.ndcg_at_10 for s in choice.scores}
        assert scored["least-borrowed"] < scored[BASELINE] < scored["als"]
        assert choice.name == "als" and choice.selected
        assert choice.ratio[1] > 1  # the interval of als / popularity lies above 1


def test_of_two_tied_candidates_the_simpler_wins_whichever_scores_higher():
    train, test = _clustered()
    popularity = _candidate(BASELINE, 0, lambda g, c: Popularity(), EVERYONE)
    # Two runs of one ALS differing only in their seed: their scores differ by noise.
    simple = _candidate("als-simple", 5, lambda g, c: Als(16, 1.0, random_state=1))
    rich = _candidate("als-rich", 9, lambda g, c: Als(16, 1.0, random_state=2))
    for order in ([popularity, simple, rich], [popularity, rich, simple]):
        choice = _select(order, train, test)
        assert choice.name == "als-simple"
    scored = {s.name: s.metrics.ndcg_at_10 for s in choice.scores}
    # The richer one scores higher, by noise: the simpler still wins.
    assert scored["als-rich"] > scored["als-simple"]


class _FittedFactors:
    """Records each candidate's fitted ALS item factors (the ``starts`` hook of ``score``)."""

    def __init__(self):
        self.factors = {}

    def before(self, candidate, parts):
        pass

    def after(self, candidate, parts):
        self.factors[candidate.name] = [als.item_factors for als in parts]


def test_the_blend_shares_the_fit_of_the_same_als_and_scores_as_it_would_alone():
    train, test = _clustered()
    groups = np.arange(train.shape[0]) % 4
    classes = np.full(train.shape[1], -1)
    blocked = np.zeros(train.shape[1], bool)
    chosen = [BY_NAME[BASELINE], BY_NAME["als-decay"], BY_NAME["als-binary"], BY_NAME["als-blend"]]

    def run(candidates):
        seen = _FittedFactors()
        scores, _, _ = selection.score(
            candidates, lambda weighting: train, test, blocked, None, groups, classes, SMALL, seen
        )
        return {s.name: s for s in scores}, seen.factors

    (together, fitted), (alone, _) = run(chosen), run([chosen[0], chosen[3]])
    assert together["als-blend"].metrics == alone["als-blend"].metrics
    # One fit for the blend and als-decay (same settings, same weighting), not for als-binary.
    assert fitted["als-blend"][0] is fitted["als-decay"][0]
    assert fitted["als-binary"][0] is not fitted["als-decay"][0]


def _score(name, complexity, per_reader):
    per_reader = np.asarray(per_reader, dtype=float)
    metrics = Metrics(len(per_reader), 0.0, 0.0, float(per_reader.mean()), 0.0)
    candidate = _candidate(name, complexity, None)
    return Score(candidate, metrics, 0.0, 0.0, per_reader)


def test_the_simpler_wins_inside_the_interval_and_the_better_outside_it():
    rng = np.random.default_rng(0)
    noise = rng.random(400) < 0.10  # readers with a hit for everyone
    baseline = _score(BASELINE, 0, noise * 0.5)
    # One more reader with a hit out of 400: inside the interval.
    close = noise.copy()
    close[np.flatnonzero(~noise)[0]] = True
    # A hit for a quarter more of the readers: far outside it.
    far = noise | (rng.random(400) < 0.25)
    simple = _score("simple", 3, noise * 1.0)
    rules = Rules(min_readers=100, min_loans=100)
    assert decide([baseline, simple, _score("rich", 7, close)], 400, 900, None, rules).name == (
        "simple"
    )
    assert decide([baseline, simple, _score("rich", 7, far)], 400, 900, None, rules).name == "rich"


def test_nothing_that_scores_below_the_most_borrowed_list_is_published():
    baseline = _score(BASELINE, 5, np.r_[np.ones(60), np.zeros(340)])
    below = _score("below", 1, np.r_[np.ones(59), np.zeros(341)])  # tied, simpler, but below
    choice = decide([below, baseline], 400, 900, None, Rules(min_readers=100, min_loans=100))
    assert choice.name == BASELINE


# The vacation: a term of loans until mid-March, then nights in the summer.
TERM_NIGHT = date(2026, 3, 18)
VACATION_NIGHT = date(2026, 8, 20)
LIMITS = Rules(min_readers=40, min_loans=80)
CANDIDATES = (BY_NAME["popularity"], BY_NAME["popularity-department"], BY_NAME["als-32-binary"])


def _term_library():
    """120 readers in two departments reading their own 40 books all term; in the summer only
    six readers borrow, one book each."""
    rng = np.random.default_rng(5)
    users = [(f"u{n:03d}", ("Physics", "History")[n % 2], False) for n in range(120)]
    items = [
        (f"I{n:03d}", f"Book {n}", "A", "O" if n < 40 else "K", True, f"I{n:03d}")
        for n in range(80)
    ]
    loans = []
    for n, (user, _, _) in enumerate(users):
        base = 0 if n % 2 == 0 else 40
        for k, item in enumerate(rng.choice(40, 10, replace=False, p=_zipf(40))):
            moment = datetime(2026, 1, 5) + timedelta(days=int(rng.integers(0, 72)), hours=k)
            loans.append((user, f"I{base + item:03d}", moment, True))
    for n in range(6):
        loans.append((f"u{n:03d}", f"I{79 - n:03d}", datetime(2026, 7, 20 + n), True))
    return users, items, loans


def _load(url):
    users, items, loans = _term_library()
    with psycopg.connect(url) as conn:
        conn.execute(MARTS)
        for table, rows in (("dim_users", users), ("dim_items", items), ("fct_loans", loans)):
            marks = sql.SQL(", ").join(sql.SQL("%s") for _ in rows[0])
            insert = sql.SQL("insert into {} values ({})").format(
                sql.Identifier("marts", table), marks
            )
            conn.cursor().executemany(insert, rows)
        conn.cursor().executemany(
            "insert into identity.patron_keys (user_key, patron_id, barcode) values (%s, %s, %s)",
            [(user, f"P{user}", f"B{user}") for user, _, _ in users],
        )


def _recorded(url, run_id):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "select model, published, selected, decision from quality.recommender_evaluations "
            "where run_id = %s order by model",
            [run_id],
        ).fetchall()


@pytest.fixture
def library(fresh_warehouse_url, monkeypatch):
    monkeypatch.setenv("LIBCRM_MODEL_SELECTION", "nightly")
    _load(fresh_warehouse_url)
    return fresh_warehouse_url


def test_a_vacation_night_keeps_the_term_choice_instead_of_deciding_on_noise(library):
    term = nightly.run(TERM_NIGHT, "term", library, LIMITS, CANDIDATES)
    assert term.selected and term.published_model != BASELINE
    vacation = nightly.run(VACATION_NIGHT, "vacation", library, LIMITS, CANDIDATES)
    assert vacation.published_model == term.published_model and not vacation.selected
    assert vacation.model_version == f"{term.published_model}-20260820"
    rows = _recorded(library, "vacation")
    assert {row[0] for row in rows} == {c.name for c in CANDIDATES}  # every score recorded
    assert [row[0] for row in rows if row[1]] == [term.published_model]
    assert not any(row[2] for row in rows)
    assert rows[0][3].startswith(f"{term.published_model} kept (the previous choice)")
    assert re.search(r"holds [0-6] readers", rows[0][3]) and "minimum of 40 readers" in rows[0][3]


def test_a_first_night_in_the_vacation_publishes_the_most_borrowed_list(library):
    result = nightly.run(VACATION_NIGHT, "vacation", library, LIMITS, CANDIDATES)
    assert result.published_model == BASELINE and not result.selected
    assert result.gate.startswith("popularity kept (the most-borrowed list)")


def test_a_weekly_schedule_rechecks_the_weeks_choice_on_the_other_nights(library, monkeypatch):
    monkeypatch.setenv("LIBCRM_MODEL_SELECTION", "weekly")
    first = nightly.run(TERM_NIGHT, "first", library, LIMITS, CANDIDATES)
    assert set(first.candidates) == {c.name for c in CANDIDATES}
    second = nightly.run(TERM_NIGHT + timedelta(days=1), "second", library, LIMITS, CANDIDATES)
    assert set(second.candidates) == {BASELINE, first.published_model}
    assert second.published_model == first.published_model and not second.selected
    week = nightly.run(TERM_NIGHT + timedelta(days=7), "week", library, LIMITS, CANDIDATES)
    assert set(week.candidates) == {c.name for c in CANDIDATES} and week.selected
