"""The recommender's model selection on every simulated kind of library.

``python -m libcrm.tooling.profile_selection --admin-url URL`` simulates each profile
(``libcrm.tooling.simulate.profiles``), loads its first night into a new database on the
server of ``URL`` (a superuser's), builds the marts and runs the nightly selection on them
(``recsys.choosing.choose``, every candidate scored), then prints what would be published
against the most-borrowed list, with the interval of their ratio; the databases are dropped
afterwards. docs/recommender.md reports its numbers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm import db, ingest, transform
from libcrm.tooling.simulate import PROFILES, SCALES, simulate
from recsys import choosing
from recsys.candidates import BASELINE
from recsys.selection import Choice
from recsys.warehouse import read_catalogue

NIGHT = date(2026, 3, 16)
SOURCES = ("ils", "gate", "events")


@dataclass(frozen=True)
class Outcome:
    """One profile's selection: the choice and the split it was made on."""

    profile: str
    choice: Choice
    window_days: int
    seconds: float

    def lines(self) -> list[str]:
        chosen, baseline = self.choice.score(self.choice.name), self.choice.score(BASELINE)
        ratio, low, high = self.choice.ratio
        head = (
            f"{self.profile}: {self.choice.name} "
            f"({'selected' if self.choice.selected else 'kept'}) on {self.choice.readers} "
            f"readers and {self.choice.loans} new loans in the last {self.window_days} days; "
            f"HR@10 {chosen.metrics.hit_rate_at_10:.3f} nDCG@10 {chosen.metrics.ndcg_at_10:.4f}"
            f" vs most-borrowed HR@10 {baseline.metrics.hit_rate_at_10:.3f} nDCG@10 "
            f"{baseline.metrics.ndcg_at_10:.4f}: nDCG@10 ratio {ratio:.2f} [{low:.2f}, "
            f"{high:.2f}] ({self.seconds:.0f} s)"
        )
        rows = [
            f"    {s.name:<22} HR@10 {s.metrics.hit_rate_at_10:.3f}  nDCG@10 "
            f"{s.metrics.ndcg_at_10:.4f} [{s.ci_low:.4f}, {s.ci_high:.4f}]  {s.seconds:5.1f} s"
            for s in self.choice.scores
        ]
        return [head, *rows, f"    {self.choice.reason}"]


def _database(admin_url: str, name: str) -> str:
    return f"{admin_url.rpartition('/')[0]}/{name}"


def run_profile(admin_url: str, profile: str, scale: str, folder: Path) -> Outcome:
    """Simulate ``profile`` at ``scale``, load and build its first night in a new database,
    run the selection on it and drop the database."""
    started = time.perf_counter()
    name = f"libcrm_profile_{profile.replace('-', '_')}_{os.getpid()}"
    url = _database(admin_url, name)
    landing = folder / profile / "landing"
    simulate(
        landing,
        folder / profile / "truth.json",
        scale=scale,
        first_day=NIGHT,
        days=1,
        profile=profile,
    )
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        db.bootstrap(url)
        for source in SOURCES:
            ingest.ingest_source(source, NIGHT, url, landing)
        transform.build(NIGHT, url)
        with db.connect(url) as conn:
            catalogue = read_catalogue(conn)
            choice, split, _ = choosing.choose(conn, catalogue, NIGHT, "nightly")
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
    return Outcome(profile, choice, split.window_days, time.perf_counter() - started)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m libcrm.tooling.profile_selection", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--admin-url", required=True, help="a superuser URL of the server")
    parser.add_argument("--scale", choices=sorted(SCALES), default="medium")
    parser.add_argument(
        "--profiles", default=",".join(PROFILES), help="comma-separated profile names"
    )
    args = parser.parse_args(argv)
    profiles = [name.strip() for name in args.profiles.split(",") if name.strip()]
    unknown = [name for name in profiles if name not in PROFILES]
    if unknown:
        parser.error(f"unknown profile {', '.join(unknown)}: use {', '.join(PROFILES)}")
    # Writes, not reads: this process loads throw-away databases under a throw-away key, and
    # keeps dbt's files apart from any other dbt run of the checkout.
    with tempfile.TemporaryDirectory(prefix="libcrm-profiles-") as folder:
        os.environ["LIBCRM_PSEUDONYM_KEY"] = os.urandom(32).hex()
        os.environ["DBT_TARGET_PATH"] = str(Path(folder) / "target")
        os.environ["DBT_LOG_PATH"] = str(Path(folder) / "logs")
        os.environ["DBT_QUIET"] = "true"
        for profile in profiles:
            outcome = run_profile(args.admin_url, profile, args.scale, Path(folder))
            print("\n".join(outcome.lines()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
