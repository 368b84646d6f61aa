"""``python -m recsys``: the production recommender on any interactions file.

``recommend`` trains on every interaction and writes ``user_id,rank,item_id,score``;
``evaluate`` trains before a cutoff (or on a seeded random share of each user's interactions,
for logs without dates) and compares with popularity on the rest.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

import numpy as np

from recsys import interactions
from recsys.evaluate import holdout, random_split, recommend_all
from recsys.models import Als, Popularity


class InputError(ValueError):
    """The interactions file cannot be used; the message names the file, line and fix."""


def read_interactions(
    path: Path,
    user_column: str = "user_id",
    item_column: str = "item_id",
    timestamps: bool = True,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Read ``user_id,item_id[,timestamp][,weight]``; return users, items, times, weights.

    Without a ``timestamp`` column (allowed when ``timestamps`` is false, or always when the
    file has none and decay is not needed) every time is NaT and no decay applies.
    """
    users, items, times, weights = [], [], [], []
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = reader.fieldnames or []
        required = [user_column, item_column] + (["timestamp"] if timestamps else [])
        missing = [name for name in required if name not in header]
        if missing:
            hint = (
                "; without dates use --holdout-fraction"
                if missing == ["timestamp"]
                else "; name the columns with --user-column/--item-column"
            )
            raise InputError(f"{path} line 1: header lacks {', '.join(missing)}{hint}")
        dated = "timestamp" in header
        for row in reader:
            try:
                stamp = row["timestamp"].strip().replace(" ", "T") if dated else "NaT"
                times.append(np.datetime64(stamp, "s"))
                weights.append(float(row.get("weight") or 1.0))
            except ValueError as error:
                raise InputError(
                    f"{path} line {reader.line_num}: {error}; timestamps are ISO "
                    "(YYYY-MM-DD[ HH:MM:SS]) and weights numbers"
                ) from None
            users.append(row[user_column])
            items.append(row[item_column])
    if not users:
        raise InputError(f"{path}: no interactions")
    return np.array(users), np.array(items), np.array(times), np.array(weights)


def _decayed(times: np.ndarray, weights: np.ndarray, now) -> np.ndarray:
    """Weights decayed to ``now``; undated rows keep their weight."""
    dated = ~np.isnat(times)
    out = weights.astype(float).copy()
    if dated.any():
        out[dated] *= interactions.decay_weights(times[dated], now)
    return out


def recommend(args: argparse.Namespace) -> int:
    users, items, times, weights = read_interactions(
        args.interactions, args.user_column, args.item_column, timestamps=False
    )
    now = times[~np.isnat(times)].max().astype(object) if (~np.isnat(times)).any() else None
    data = interactions.build(users, items, _decayed(times, weights, now))
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


def _print_comparison(train, test) -> None:
    blocked = np.zeros(train.shape[1], dtype=bool)
    print(f"{'model':<12}{'users':>7}{'HR@10':>8}{'P@10':>8}{'nDCG@10':>9}{'coverage':>10}")
    for name, model in (("als", Als()), ("popularity", Popularity())):
        m = holdout(model, train, test, blocked)
        print(
            f"{name:<12}{m.users_evaluated:>7}{m.hit_rate_at_10:>8.3f}{m.precision_at_10:>8.3f}"
            f"{m.ndcg_at_10:>9.3f}{m.coverage:>10.3f}"
        )


def evaluate(args: argparse.Namespace) -> int:
    if (args.cutoff is None) == (args.holdout_fraction is None):
        raise InputError("give either --cutoff (temporal holdout) or --holdout-fraction")
    users, items, times, weights = read_interactions(
        args.interactions,
        args.user_column,
        args.item_column,
        timestamps=args.holdout_fraction is None,
    )
    if args.holdout_fraction is not None:
        if not 0 < args.holdout_fraction < 1:
            raise InputError(f"--holdout-fraction {args.holdout_fraction} must lie in (0, 1)")
        dated = ~np.isnat(times)
        now = times[dated].max().astype(object) if dated.any() else None
        data = interactions.build(users, items, _decayed(times, weights, now))
        train, test = random_split(data.matrix, args.holdout_fraction, args.seed)
        print(
            f"random holdout of {args.holdout_fraction:.0%} per user (seed {args.seed}): "
            f"{train.nnz} train, {test.nnz} test pairs, {data.matrix.shape[0]} users, "
            f"{data.matrix.shape[1]} items"
        )
        _print_comparison(train, test)
        return 0
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
    print(f"temporal holdout at {args.cutoff}: {before.sum()} train, {(~before).sum()} test rows")
    _print_comparison(train.matrix, test.matrix)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m recsys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    rec = commands.add_parser("recommend", help="train on a file and recommend for listed users")
    rec.add_argument("--interactions", type=Path, required=True)
    rec.add_argument("--users", type=Path, required=True, help="one user id per line")
    rec.add_argument("--n", type=int, default=10)
    rec.add_argument("--user-column", default="user_id", help="column naming the user")
    rec.add_argument("--item-column", default="item_id", help="column naming the item")
    rec.add_argument("--out", type=Path, required=True)
    rec.set_defaults(handler=recommend)
    ev = commands.add_parser("evaluate", help="temporal holdout against popularity")
    ev.add_argument("--interactions", type=Path, required=True)
    ev.add_argument("--cutoff", help="YYYY-MM-DD: train before, test from it")
    ev.add_argument(
        "--holdout-fraction",
        type=float,
        help="hold out this share of each user's interactions at random (no dates needed)",
    )
    ev.add_argument("--seed", type=int, default=42, help="seed of the random holdout")
    ev.add_argument("--user-column", default="user_id", help="column naming the user")
    ev.add_argument("--item-column", default="item_id", help="column naming the item")
    ev.set_defaults(handler=evaluate)
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except InputError as error:
        print(f"recsys: {error}", file=sys.stderr)
        return 2
