"""marts.opinion_leaders judged against the opinion leaders the simulator planted."""

from __future__ import annotations

import psycopg
import pytest

from libcrm import transform
from tests.test_dbt_marts import FIRST_DAY, load_library, separate_dbt_folders, truth_by_user_key

# Measured on the small library (seed 42, one night): 7 of the 8 planted leaders are ranked
# 1-7; the 8th opted out of profiling and is never listed. The goal is 0.7; one more miss
# than measured still passes, two fail.
MIN_PRECISION_AT_K = 0.75


@pytest.fixture(scope="module")
def leaders(warehouse_url, tmp_path_factory, pseudonym_key):
    """One night of a small library, built; the ranked leaders and the planted truth."""
    truth = load_library(warehouse_url, tmp_path_factory.mktemp("library"), nights=1)
    with separate_dbt_folders(tmp_path_factory.mktemp("dbt")):
        transform.build(FIRST_DAY, warehouse_url)
    with psycopg.connect(warehouse_url) as conn:
        ranked = conn.execute(
            "select user_key, score, rank, followers_reached from marts.opinion_leaders "
            "order by rank"
        ).fetchall()
    return {"ranked": ranked, "truth": truth_by_user_key(truth, pseudonym_key)}


def test_top_k_opinion_leaders_are_the_planted_ones(leaders):
    planted = {key for key, record in leaders["truth"].items() if record["opinion_leader"]}
    top_k = [row[0] for row in leaders["ranked"][: len(planted)]]
    precision = len(planted.intersection(top_k)) / len(planted)
    print(f"opinion leaders precision@{len(planted)} = {precision:.3f}")
    assert len(planted) >= 5
    assert precision >= MIN_PRECISION_AT_K


def test_followers_of_planted_leaders_are_not_taken_for_leaders(leaders):
    followers = {key for key, record in leaders["truth"].items() if record["leader"]}
    planted = sum(record["opinion_leader"] for record in leaders["truth"].values())
    top_k = [row[0] for row in leaders["ranked"][:planted]]
    assert not followers.intersection(top_k)


def test_ranks_are_consecutive_and_follow_the_score(leaders):
    ranks = [row[2] for row in leaders["ranked"]]
    scores = [row[1] for row in leaders["ranked"]]
    assert ranks == list(range(1, len(ranks) + 1))
    assert scores == sorted(scores, reverse=True)
    assert all(row[3] >= 1 for row in leaders["ranked"])
