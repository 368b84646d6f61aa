"""``python -m recsys`` on an interactions file from outside libcrm."""

from __future__ import annotations

import csv

import numpy as np

from recsys.cli import main


def _write_interactions(path, users=120, clusters=3, items_per_cluster=30, seed=5):
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "item_id", "timestamp"])
        for user in range(users):
            cluster = user % clusters
            picks = (
                rng.choice(items_per_cluster, size=8, replace=False) + cluster * items_per_cluster
            )
            for item in picks:
                day = int(rng.integers(1, 28))
                writer.writerow([f"u{user}", f"i{item}", f"2026-02-{day:02d}"])


def test_recommend_writes_ranked_unseen_items_and_serves_unknown_users(tmp_path, capsys):
    interactions = tmp_path / "interactions.csv"
    _write_interactions(interactions)
    (tmp_path / "users.txt").write_text("u0\nu1\nstranger\n")
    out = tmp_path / "recs.csv"
    code = main(
        [
            "recommend",
            "--interactions",
            str(interactions),
            "--users",
            str(tmp_path / "users.txt"),
            "--n",
            "5",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    with out.open() as handle:
        rows = list(csv.DictReader(handle))
    with interactions.open() as handle:
        seen = {(r["user_id"], r["item_id"]) for r in csv.DictReader(handle)}
    assert {r["user_id"] for r in rows} == {"u0", "u1", "stranger"}
    for user in ("u0", "u1", "stranger"):
        assert [int(r["rank"]) for r in rows if r["user_id"] == user] == [1, 2, 3, 4, 5]
    assert not any((r["user_id"], r["item_id"]) in seen for r in rows)
    u1_items = [int(r["item_id"][1:]) for r in rows if r["user_id"] == "u1"]
    assert all(30 <= item < 60 for item in u1_items)  # u1 reads in the second cluster


def test_evaluate_prints_both_models(tmp_path, capsys):
    interactions = tmp_path / "interactions.csv"
    _write_interactions(interactions)
    assert main(["evaluate", "--interactions", str(interactions), "--cutoff", "2026-02-20"]) == 0
    out = capsys.readouterr().out
    assert "als" in out and "popularity" in out and "nDCG@10" in out


def test_bad_timestamp_names_file_and_line(tmp_path, capsys):
    interactions = tmp_path / "bad.csv"
    interactions.write_text("user_id,item_id,timestamp\nu1,i1,2026-02-01\nu1,i2,yesterday\n")
    code = main(["evaluate", "--interactions", str(interactions), "--cutoff", "2026-02-20"])
    assert code == 2
    assert "bad.csv line 3" in capsys.readouterr().err
