"""Command line: ``python -m libcrm.tooling.simulate --landing DIR --truth FILE [...]``."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import date
from pathlib import Path

from libcrm.tooling.simulate.profiles import PROFILES
from libcrm.tooling.simulate.run import simulate
from libcrm.tooling.simulate.scales import SCALES


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the simulation and print a one-line summary."""
    parser = argparse.ArgumentParser(
        prog="python -m libcrm.tooling.simulate",
        description="Simulate a university library and write its source exports.",
    )
    parser.add_argument("--landing", type=Path, required=True, help="landing folder to write")
    parser.add_argument("--truth", type=Path, required=True, help="truth JSON file to write")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument(
        "--profile",
        choices=list(PROFILES),
        default="default",
        help="the kind of library: "
        + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values()),
    )
    parser.add_argument("--first-day", type=date.fromisoformat, default=date(2026, 3, 16))
    parser.add_argument("--days", type=int, default=3, help="export days, initial included")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--history-start", type=date.fromisoformat, default=date(2025, 9, 1))
    args = parser.parse_args(argv)
    began = time.perf_counter()
    try:
        summary = simulate(
            args.landing,
            args.truth,
            scale=args.scale,
            first_day=args.first_day,
            days=args.days,
            seed=args.seed,
            history_start=args.history_start,
            profile=args.profile,
        )
    except ValueError as error:
        parser.error(str(error))
    seconds = time.perf_counter() - began
    print(
        f"simulated {args.scale} {args.profile} library in {seconds:.1f}s: {summary.line()} "
        f"-> {args.landing}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
