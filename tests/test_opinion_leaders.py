"""marts.opinion_leaders judged against the opinion leaders the simulator planted."""

from __future__ import annotations

import psycopg
import pytest

from libcrm import pseudonym, transform
from tests.test_dbt_marts import FIRST_DAY, load_library, separate_dbt_folders, truth_by_user_key

# Measured on the small library (seed 42, one night), where followers take up their leader's
# subjects and events rather than copies (libcrm/tooling/simulate/influence.py): 7 of the 8
# planted leaders are ranked 1-7; the 8th opted out of profiling and is never listed (seeds
# 1-3: 0.75, 0.75, 0.625). One more miss than measured still passes, two fail; on books
# alone, without the events, the rule ranks 5 of 8 first (0.625) and fails.
MIN_PRECISION_AT_K = 0.75


@pytest.fixture(scope="module")
def leaders(warehouse_url, tmp_path_factory, pseudonym_key):
    """One night of a small library, built; the ranked leaders and the planted truth."""
    truth = load_library(warehouse_url, tmp_path_factory.mktemp("library"), nights=1)
    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")):
        transform.build(FIRST_DAY, warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        ranked = conn.execute(
            "select o.user_key, o.score, o.rank, o.followers_reached, o.events_carried,"
            " o.subjects, u.opt_out from marts.opinion_leaders as o"
            " join marts.dim_users as u using (user_key) order by o.rank"
        ).fetchall()
        opted_out = {
            key for (key,) in conn.execute("select user_key from marts.dim_users where opt_out")
        }
    truth = truth_by_user_key(truth, pseudonym_key)
    for record in truth.values():
        record["leader_key"] = record["leader"] and pseudonym.user_key(
            pseudonym_key, record["leader"]
        )
    return {"ranked": ranked, "truth": truth, "opted_out": opted_out}


def test_top_k_opinion_leaders_are_the_planted_ones(leaders):
    planted = {key for key, record in leaders["truth"].items() if record["opinion_leader"]}
    top_k = [row[0] for row in leaders["ranked"][: len(planted)]]
    precision = len(planted.intersection(top_k)) / len(planted)
    print(f"opinion leaders precision@{len(planted)} = {precision:.3f}")
    assert len(planted) >= 5
    assert precision >= MIN_PRECISION_AT_K


def test_followers_of_planted_leaders_never_outrank_their_leader(leaders):
    """Influence has a direction: a follower may be listed (a keen reader who signs up early
    leads others too), but below the leader they follow, and rarely among the first k. With
    seed 42 one planted follower is ranked 8th (an early registrant for many events)."""
    truth = leaders["truth"]
    rank = {row[0]: row[2] for row in leaders["ranked"]}
    planted = sum(record["opinion_leader"] for record in truth.values())
    followers = {key: record["leader_key"] for key, record in truth.items() if record["leader"]}
    listed = [key for key in followers if key in rank]
    # A leader who opted out is never listed: their followers have nobody to stay below.
    ahead = {key for key in listed if followers[key] in rank and rank[key] < rank[followers[key]]}
    assert not ahead
    assert sum(rank[key] <= planted for key in listed) <= 1


def test_ranks_are_consecutive_and_follow_the_score(leaders):
    ranks = [row[2] for row in leaders["ranked"]]
    scores = [row[1] for row in leaders["ranked"]]
    assert ranks == list(range(1, len(ranks) + 1))
    assert scores == sorted(scores, reverse=True)
    assert all(row[3] >= 1 for row in leaders["ranked"])


def test_every_planted_leader_who_allows_profiling_is_listed(leaders):
    planted = {key for key, record in leaders["truth"].items() if record["opinion_leader"]}
    listed = {row[0] for row in leaders["ranked"]}
    missing = planted - leaders["opted_out"] - listed
    print(f"recall {len(planted & listed)} of {len(planted)} planted leaders listed")
    assert not missing


def test_top_leaders_bring_people_to_events_and_lead_in_subjects(leaders):
    planted = sum(record["opinion_leader"] for record in leaders["truth"].values())
    top_k = leaders["ranked"][:planted]
    assert all(row[4] > 0 for row in top_k), "influence through events is counted"
    assert all(row[5] for row in top_k), "each leader's subjects are named"
    assert not any(row[6] for row in leaders["ranked"])
