"""``python -m recsys`` on an interactions file from outside libcrm."""

from __future__ import annotations

import csv

import numpy as np

from recsys.cli import main
from tests.conftest import DATA

SHAKESPEARE_AND_CO = DATA / "shakespeare_and_co_interactions.csv"


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
    _write_interactions(interactions, users=400)  # enough readers for the selection to decide
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
    said = capsys.readouterr().out
    assert "validation: the last 14 days held out" in said
    winner = said.split("selected ", 1)[1].split(" ", 1)[0]
    assert winner != "popularity" and f"users from {winner}" in said
    assert "x the most-borrowed list [" in said


def _rows(out: str) -> dict[str, list[str]]:
    """The candidate table of ``evaluate``: name -> its cells."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("candidate "))
    end = next(i for i, line in enumerate(lines) if line.startswith("selected "))
    return {line.split()[0]: line.split() for line in lines[start + 1 : end]}


def test_evaluate_prints_every_candidate_and_the_winner(tmp_path, capsys):
    interactions = tmp_path / "interactions.csv"
    _write_interactions(interactions)
    assert main(["evaluate", "--interactions", str(interactions), "--cutoff", "2026-02-20"]) == 0
    out = capsys.readouterr().out
    # A dated file without departments or classes: every candidate that needs neither.
    assert set(_rows(out)) == {
        "popularity",
        "popularity-recent",
        "item-neighbours",
        "als-32-binary",
        "als-binary",
        "als-counts",
        "als-decay",
        "als-blend",
    }
    assert "nDCG@10" in out and "\nselected " in out


def test_bad_timestamp_names_file_and_line(tmp_path, capsys):
    interactions = tmp_path / "bad.csv"
    interactions.write_text("user_id,item_id,timestamp\nu1,i1,2026-02-01\nu1,i2,yesterday\n")
    code = main(["evaluate", "--interactions", str(interactions), "--cutoff", "2026-02-20"])
    assert code == 2
    assert "bad.csv line 3" in capsys.readouterr().err


def _write_undated(path, users=90, clusters=3, items_per_cluster=20, seed=9):
    rng = np.random.default_rng(seed)
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["member_id", "item_id"])
        for user in range(users):
            base = (user % clusters) * items_per_cluster
            for item in rng.choice(items_per_cluster, size=8, replace=False) + base:
                writer.writerow([f"m{user}", f"b{item}"])


def test_random_holdout_on_an_undated_file_is_reproducible_and_beats_popularity(tmp_path, capsys):
    undated = tmp_path / "undated.csv"
    _write_undated(undated)
    args = ["evaluate", "--interactions", str(undated), "--user-column", "member_id"]
    assert main([*args, "--holdout-fraction", "0.25", "--seed", "3"]) == 0
    first = capsys.readouterr().out
    assert main([*args, "--holdout-fraction", "0.25", "--seed", "3"]) == 0
    assert capsys.readouterr().out == first
    assert "90 users, 60 items" in first and "540 train, 180 test pairs" in first
    rows = _rows(first)
    assert float(rows["als-binary"][2]) > 2 * float(rows["popularity"][2])  # HR@10
    assert float(rows["als-binary"][4]) > 2 * float(rows["popularity"][4])  # nDCG@10
    # 90 readers are too few to decide on: the most-borrowed list is kept, and said why.
    assert "selected popularity" in first and "under the minimum of 250 readers" in first


def test_undated_file_needs_the_random_holdout(tmp_path, capsys):
    undated = tmp_path / "undated.csv"
    _write_undated(undated)
    code = main(
        [
            "evaluate",
            "--interactions",
            str(undated),
            "--user-column",
            "member_id",
            "--cutoff",
            "2026-02-20",
        ]
    )
    assert code == 2
    assert "header lacks timestamp; without dates use --holdout-fraction" in capsys.readouterr().err


def test_the_selection_doubles_popularity_on_the_real_shakespeare_and_co_loans(capsys):
    # Real public data (CC BY 4.0, Shakespeare and Company Project; see its ATTRIBUTION file).
    code = main(
        [
            "evaluate",
            "--interactions",
            str(SHAKESPEARE_AND_CO),
            "--user-column",
            "member_id",
            "--holdout-fraction",
            "0.2",
            "--seed",
            "42",
        ]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "598 users, 5630 items" in out
    rows = _rows(out)
    winner = next(name for name, cells in rows.items() if cells[-1] == "selected")
    assert winner.startswith("als")
    assert float(rows[winner][2]) >= 1.8 * float(rows["popularity"][2])  # HR@10
    assert float(rows[winner][4]) >= 1.8 * float(rows["popularity"][4])  # nDCG@10
    ratio = out.split("x the most-borrowed list [", 1)[1].split("]", 1)[0]
    assert float(ratio.split(",")[0]) > 1  # the interval of the ratio stays above popularity
