"""``python -m recsys``: the production recommender on any interactions file.

``recommend`` runs the nightly model selection on the file (a validation split, every
candidate scored with a bootstrap interval, the simplest of the best that does not lose to the
most-borrowed list), trains the winner on every interaction and writes
``user_id,rank,item_id,score``; ``evaluate`` scores every candidate before a cutoff (or on a
seeded random share of each user's interactions, for logs without dates) and says which wins.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from recsys import interactions, selection, validation
from recsys.candidates import BASELINE, BY_NAME, CANDIDATES, EVERYONE, MIN_HISTORY, available, build
from recsys.evaluate import recommend_all
from recsys.models import Popularity
from recsys.selection import DEFAULT_RULES, Choice
from recsys.validation import Log, Split

# The share of each user's interactions held out to choose a model on a file without dates.
UNDATED_HOLDOUT = 0.2


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


def _log(users, items, times, weights) -> Log:
    return Log(
        users, items, times, weights, np.ones(len(users), bool), np.unique(users), np.unique(items)
    )


def _choose(split: Split, log: Log, dated: bool) -> Choice:
    """Run the nightly selection on an outside file: no departments, classes or lost copies."""
    pool = available(CANDIDATES, dated, departments=False, classes=False)
    no_groups = np.full(len(log.all_users), -1)
    no_classes = np.full(len(log.all_items), -1)
    nothing_blocked = np.zeros(len(log.all_items), dtype=bool)
    scores, readers, loans = selection.score(
        pool, split.train, split.test, nothing_blocked, None, no_groups, no_classes
    )
    return selection.decide(scores, readers, loans)


def _won(choice: Choice) -> str:
    chosen = choice.score(choice.name)
    ratio, low, high = choice.ratio
    return (
        f"selected {choice.name} ({chosen.candidate.description}): nDCG@10 "
        f"{chosen.metrics.ndcg_at_10:.4f} [{chosen.ci_low:.4f}, {chosen.ci_high:.4f}], "
        f"{ratio:.2f}x the most-borrowed list [{low:.2f}, {high:.2f}] (95% bootstrap "
        f"interval over {choice.score(choice.name).metrics.users_evaluated} readers)\n"
        f"  {choice.reason}"
    )


def _print_candidates(choice: Choice) -> None:
    print(
        f"{'candidate':<24}{'users':>7}{'HR@10':>8}{'P@10':>8}{'nDCG@10':>9}"
        f"{'low':>8}{'high':>8}{'coverage':>10}"
    )
    for s in choice.scores:
        m = s.metrics
        mark = "  <- selected" if s.name == choice.name else ""
        print(
            f"{s.name:<24}{m.users_evaluated:>7}{m.hit_rate_at_10:>8.3f}"
            f"{m.precision_at_10:>8.3f}{m.ndcg_at_10:>9.4f}{s.ci_low:>8.4f}{s.ci_high:>8.4f}"
            f"{m.coverage:>10.3f}{mark}"
        )
    print(_won(choice))


def _split(log: Log, fraction: float | None, seed: int) -> tuple[Split, bool, str]:
    """The validation split of ``recommend``: the nightly windows on a dated file, a seeded
    random holdout of ``fraction`` otherwise."""
    dated = not np.isnat(log.times).any()
    if dated and fraction is None:
        last = log.times.max().astype(datetime)
        end = datetime.combine(last.date() + timedelta(days=1), datetime.min.time())
        split = validation.windowed(log, end, DEFAULT_RULES)
        return split, True, f"the last {split.window_days} days held out"
    counts = interactions.build(log.users, log.items, log.weights).matrix
    fraction = fraction or UNDATED_HOLDOUT
    split = validation.undated(counts, fraction, seed, log)
    return split, False, f"random holdout of {fraction:.0%} per user (seed {seed})"


def recommend(args: argparse.Namespace) -> int:
    users, items, times, weights = read_interactions(
        args.interactions, args.user_column, args.item_column, timestamps=False
    )
    log = _log(users, items, times, weights)
    split, dated, how = _split(log, None, args.seed)
    choice = _choose(split, log, dated)
    candidate = BY_NAME[choice.name]
    dated_times = times[~np.isnat(times)]
    now = dated_times.max().astype(datetime) if len(dated_times) else None
    weigh = interactions.weighted
    data = interactions.build(users, items, weigh(weights, times, now, candidate.weighting))
    matrix = interactions.binarised(data.matrix, candidate.weighting)
    wanted = [line.strip() for line in args.users.read_text().splitlines() if line.strip()]
    index = data.user_index()
    known = np.array([index[user] for user in wanted if user in index], dtype=np.int64)
    cold = [user for user in wanted if user not in index]
    seen = (matrix > 0).tocsr()
    history = np.diff(seen.indptr)[known]
    personal = known if candidate.audience == EVERYONE else known[history >= MIN_HISTORY]
    thin = np.setdiff1d(known, personal)
    nothing_blocked = np.zeros(len(data.items), dtype=bool)
    no_groups, no_classes = np.full(len(data.users), -1), np.full(len(data.items), -1)
    model = build(candidate, no_groups, no_classes).fit(matrix)
    baseline = interactions.build(
        users, items, weigh(weights, times, now, BY_NAME[BASELINE].weighting)
    ).matrix
    popular = Popularity().fit(baseline)
    lists = [recommend_all(model, personal, args.n, seen, nothing_blocked)]
    lists.append(recommend_all(popular, thin, args.n, seen, nothing_blocked))
    with args.out.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["user_id", "rank", "item_id", "score"])
        for rows, (ids, scores) in zip((personal, thin), lists, strict=True):
            for row, user_items, user_scores in zip(rows, ids, scores, strict=True):
                ok = np.isfinite(user_scores)
                for rank, (item, score) in enumerate(
                    zip(user_items[ok], user_scores[ok], strict=True), 1
                ):
                    writer.writerow([data.users[row], rank, data.items[item], f"{score:.6f}"])
        top = np.argsort(-popular.counts, kind="stable")[: args.n]
        for user in cold:
            for rank, item in enumerate(top, 1):
                writer.writerow([user, rank, data.items[item], f"{popular.counts[item]:.6f}"])
    print(f"validation: {how}")
    print(_won(choice))
    print(
        f"wrote {args.out}: {len(personal)} users from {choice.name}, {len(thin)} with fewer "
        f"than {MIN_HISTORY} interactions and {len(cold)} unknown users from the "
        "most-borrowed list"
    )
    return 0


def evaluate(args: argparse.Namespace) -> int:
    if (args.cutoff is None) == (args.holdout_fraction is None):
        raise InputError("give either --cutoff (temporal holdout) or --holdout-fraction")
    users, items, times, weights = read_interactions(
        args.interactions,
        args.user_column,
        args.item_column,
        timestamps=args.holdout_fraction is None,
    )
    log = _log(users, items, times, weights)
    if args.holdout_fraction is not None:
        if not 0 < args.holdout_fraction < 1:
            raise InputError(f"--holdout-fraction {args.holdout_fraction} must lie in (0, 1)")
        split, dated, how = _split(log, args.holdout_fraction, args.seed)
        train = split.train(BY_NAME[BASELINE].weighting)
        print(
            f"{how}: {train.nnz} train, {split.test.nnz} test pairs, {train.shape[0]} users, "
            f"{train.shape[1]} items"
        )
        _print_candidates(_choose(split, log, dated))
        return 0
    cutoff = np.datetime64(args.cutoff, "s")
    before = times < cutoff
    if before.all() or not before.any():
        raise InputError(
            f"{args.interactions}: cutoff {args.cutoff} leaves no train or no test data"
        )
    split = validation.temporal(log, cutoff)
    print(f"temporal holdout at {args.cutoff}: {before.sum()} train, {(~before).sum()} test rows")
    _print_candidates(_choose(split, log, dated=True))
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
    rec.add_argument("--seed", type=int, default=42, help="seed of an undated file's holdout")
    rec.set_defaults(handler=recommend)
    ev = commands.add_parser("evaluate", help="every candidate on a holdout, and the winner")
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
