"""``python -m recsys``: the production recommender on any interactions file.

``recommend`` trains on every interaction and writes ``user_id,rank,item_id,score``;
``evaluate`` trains before a cutoff and compares with popularity on what came after.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from recsys import interactions
from recsys.evaluate import holdout, recommend_all
from recsys.models import Als, Popularity

REQUIRED = ("user_id", "item_id", "timestamp")


class InputError(ValueError):
    """The interactions file cannot be used; the message names the file, line and fix."""


def read_interactions(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read ``user_id,item_id,timestamp[,weight]``; return users, items, times, weights."""
    users, items, times, weights = [], [], [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path} line 1: header lacks {', '.join(missing)}")
        for row in reader:
            try:
                times.append(np.datetime64(row["timestamp"].strip().replace(" ", "T"), "s"))
                weights.append(float(row.get("weight") or 1.0))
            except ValueError as error:
                raise InputError(
                    f"{path} line {reader.line_num}: {error}; timestamps are ISO "
                    "(YYYY-MM-DD[ HH:MM:SS]) and weights numbers"
                ) from None
            users.append(row["user_id"])
            items.append(row["item_id"])
    if not users:
        raise InputError(f"{path}: no interactions")
    return np.array(users), np.array(items), np.array(times), np.array(weights)


def recommend(args: argparse.Namespace) -> int:
    users, items, times, weights = read_interactions(args.interactions)
    now = times.max().astype(object)
    data = interactions.build(users, items, weights * interactions.decay_weights(times, now))
    wanted = [line.strip() for line in args.users.read_text().splitlines() if line.strip()]
    index = data.user_index()
    known = np.array([index[user] for user in wanted if user in index], dtype=np.int64)
    cold = [user for user in wanted if user not in index]
    seen = (data.matrix > 0).tocsr()
    nothing_blocked = np.zeros(len(data.items), dtype=bool)
    ids, scores = recommend_all(Als().fit(data.matrix), known, args.n, seen, nothing_blocked)
    popular = Popularity().fit(data.matrix)
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "rank", "item_id", "score"])
        for row, user_items, user_scores in zip(known, ids, scores, strict=True):
            ok = np.isfinite(user_scores)
            for rank, (item, score) in enumerate(
                zip(user_items[ok], user_scores[ok], strict=True), 1
            ):
                writer.writerow([data.users[row], rank, data.items[item], f"{score:.6f}"])
        top = np.argsort(-popular.counts, kind="stable")[: args.n]
        for user in cold:
            for rank, item in enumerate(top, 1):
                writer.writerow([user, rank, data.items[item], f"{popular.counts[item]:.6f}"])
    print(
        f"wrote {args.out}: {len(known)} users from ALS, {len(cold)} unknown users from popularity"
    )
    return 0


def evaluate(args: argparse.Namespace) -> int:
    users, items, times, weights = read_interactions(args.interactions)
    cutoff = np.datetime64(args.cutoff, "s")
    before = times < cutoff
    if before.all() or not before.any():
        raise InputError(
            f"{args.interactions}: cutoff {args.cutoff} leaves no train or no test data"
        )
    all_users, all_items = np.unique(users), np.unique(items)
    decay = interactions.decay_weights(times[before], cutoff.astype(object))
    train = interactions.build(
        users[before], items[before], weights[before] * decay, all_users, all_items
    )
    test = interactions.build(
        users[~before], items[~before], weights[~before], all_users, all_items
    )
    blocked = np.zeros(len(all_items), dtype=bool)
    print(f"temporal holdout at {args.cutoff}: {before.sum()} train, {(~before).sum()} test rows")
    print(f"{'model':<12}{'users':>7}{'HR@10':>8}{'P@10':>8}{'nDCG@10':>9}{'coverage':>10}")
    for name, model in (("als", Als()), ("popularity", Popularity())):
        m = holdout(model, train.matrix, test.matrix, blocked)
        print(
            f"{name:<12}{m.users_evaluated:>7}{m.hit_rate_at_10:>8.3f}{m.precision_at_10:>8.3f}"
            f"{m.ndcg_at_10:>9.3f}{m.coverage:>10.3f}"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("recommend", help="train on a file and recommend for listed users")
    rec.add_argument("--interactions", type=Path, required=True)
    rec.add_argument("--users", type=Path, required=True, help="one user id per line")
    rec.add_argument("--n", type=int, default=10)
    rec.add_argument("--out", type=Path, required=True)
    rec.set_defaults(handler=recommend)
    ev = commands.add_parser("evaluate", help="temporal holdout against popularity")
    ev.add_argument("--interactions", type=Path, required=True)
    ev.add_argument("--cutoff", required=True, help="YYYY-MM-DD: train before, test from it")
    ev.set_defaults(handler=evaluate)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except InputError as error:
        print(f"recsys: {error}", file=sys.stderr)
        return 2
