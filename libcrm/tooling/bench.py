"""``make bench``: time each nightly stage at several scales, with its peak memory.

Each stage runs in a fresh process, as an Airflow task would, so its peak RSS is its own.
The first night is the full initial load; the second is one incremental day. Results go to
``bench/results/<scale>.json`` with the machine they were measured on.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm import config, db, settings
from libcrm.tooling import bench_report, localdb
from libcrm.tooling.bench_references import (
    copy_reference,
    implicit_reference,
    publish_reference,
    wait_for_quiet,
)

FIRST_DAY = date(2026, 3, 16)
# The large library is a big university's two academic years (~2 M loans, ~20 M passages);
# the smaller ones keep the simulator's default of one.
HISTORY_START = {"large": date(2024, 9, 1)}
STAGES = (
    "ingest_ils",
    "ingest_gate",
    "ingest_events",
    "validate_raw",
    "transform",
    "validate_marts",
    "recommend",
)
# Measured after each night, in the same database: bare implicit on the same matrix.
REFERENCE_STAGE = "reference: bare implicit fit + top 10"
# Measured once per scale: the portal's goal is a million rows published in at most 60 s.
PUBLISH_ROWS = 1_000_000
PUBLISH_STAGE = f"reference: publish {PUBLISH_ROWS:,} rows"
# Measured once per scale, last: the incremental night where the week's choice is ALS.
KEPT_ALS_STAGE = "reference: recommend with ALS kept, warm and cold"


def _stage(name: str, day: date, env: dict, pipe) -> None:
    os.environ.update(env)  # a write: the stage's process runs with the night's settings
    from libcrm import pipeline

    started = time.perf_counter()
    run_id = f"bench-{day}"
    steps, published, quality = None, None, None
    if name.startswith("ingest_"):
        rows = pipeline.ingest_source(name.removeprefix("ingest_"), day)["rows_read"]
    elif name.startswith("validate_"):
        rows = pipeline.validate(name.removeprefix("validate_"), day, run_id)["expectations"]
    elif name == "transform":
        rows = pipeline.build_marts(day)["nodes"]
    elif name == "recommend":
        result = pipeline.recommend(day, run_id)
        rows = result["rows_published"] + result["activity_rows_published"]  # both tables
        steps = result["seconds"]
        published = result["published_model"]
    elif name == PUBLISH_STAGE:
        rows, steps = publish_reference(day, PUBLISH_ROWS)
    elif name == KEPT_ALS_STAGE:
        from libcrm.tooling.bench_warm import kept_als_reference

        rows, steps, quality = kept_als_reference(day)
    else:
        rows, steps = implicit_reference(day)
    seconds = time.perf_counter() - started
    peak_kib = _peak_rss_kib()
    measured = {
        "stage": name,
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_second": round(rows / seconds, 1) if seconds else None,
        "peak_rss_mib": round(peak_kib / 1024, 1),
    }
    if steps:
        measured["steps"] = steps
    if published:
        measured["published_model"] = published
    if quality:
        measured["quality"] = quality
    pipe.send(measured)


def _peak_rss_kib() -> int:
    """This process's own peak resident memory in KiB.

    Linux's ``ru_maxrss`` survives ``exec``, so a spawned stage would report its parent's
    peak; ``VmHWM`` belongs to the process image and starts afresh.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _run_stage(name: str, day: date, env: dict) -> dict:
    waited = wait_for_quiet(env["LIBCRM_DATABASE_URL"])
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_stage, args=(name, day, env, sender))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise RuntimeError(f"benchmark stage {name} for {day} failed (exit {process.exitcode})")
    return {**receiver.recv(), "waited_for_autovacuum_s": waited}


def _reported(stage: dict) -> dict:
    """Print a stage's line as soon as it is measured (a large run takes a while)."""
    print(_line(stage), flush=True)
    return stage


def _server_url() -> str:
    url = (settings.load().database_url or "").strip()
    return url or localdb.ensure_embedded()


def bench_scale(scale: str, server_url: str) -> dict:
    """Simulate ``scale``, run two nights stage by stage in a new database, and return timings."""
    from libcrm.tooling.simulate import simulate

    name = f"libcrm_bench_{scale}_{os.getpid()}"
    database = server_url.rpartition("/")[0] + "/" + name
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    try:
        with tempfile.TemporaryDirectory(prefix="libcrm-bench-") as folder:
            landing = Path(folder) / "landing"
            started = time.perf_counter()
            history = {"history_start": HISTORY_START[scale]} if scale in HISTORY_START else {}
            simulated = simulate(
                landing,
                Path(folder) / "truth.json",
                scale=scale,
                first_day=FIRST_DAY,
                days=2,
                **history,
            )
            simulate_seconds = round(time.perf_counter() - started, 1)
            db.bootstrap(database)
            env = {
                "LIBCRM_DATABASE_URL": database,
                "LIBCRM_LANDING_DIR": str(landing),
                "LIBCRM_DATA_DOCS_DIR": str(Path(folder) / "docs"),
                "LIBCRM_PSEUDONYM_KEY": os.urandom(32).hex(),
                "OPENBLAS_NUM_THREADS": "1",
                "DBT_QUIET": "true",  # keep the benchmark's output to its own lines
            }
            nights = {}
            for label, day in (("initial", FIRST_DAY), ("incremental", FIRST_DAY + timedelta(1))):
                print(f"  {label} night ({day})", flush=True)
                stages = [_reported(_run_stage(stage, day, env)) for stage in STAGES]
                references = [r for r in [copy_reference(database, landing, day)] if r]
                references.append(_run_stage(REFERENCE_STAGE, day, env))
                if label == "incremental":
                    references.append(_run_stage(PUBLISH_STAGE, day, env))
                    references.append(_run_stage(KEPT_ALS_STAGE, day, env))
                for reference in references:
                    _reported(reference)
                nights[label] = {
                    "total_seconds": round(sum(s["seconds"] for s in stages), 1),
                    "stages": stages,
                    "references": references,
                }
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name))
            )
    return {
        "scale": scale,
        "simulated": simulated.line(),
        "simulate_seconds": simulate_seconds,
        **bench_report.measured_on(),
        "nights": nights,
    }


def _line(stage: dict) -> str:
    line = (
        f"    {stage['stage']:<38}{stage['seconds']:>8.2f} s{stage['rows']:>11,} rows"
        f"{stage['rows_per_second'] or 0:>12,.0f} rows/s"
    )
    if "peak_rss_mib" in stage:
        line += f"{stage['peak_rss_mib']:>8.0f} MiB peak"
    if stage.get("waited_for_autovacuum_s"):
        line += f" (after {stage['waited_for_autovacuum_s']:.0f} s waiting for autovacuum)"
    if stage.get("steps"):
        line += "\n      " + ", ".join(f"{k} {v:.2f} s" for k, v in stage["steps"].items())
    return line


def run(scales: list[str]) -> int:
    """Benchmark each scale, write its JSON and print a table."""
    results = config.checkout("the benchmark writes bench/results/") / "bench" / "results"
    server = _server_url()
    results.mkdir(parents=True, exist_ok=True)
    for scale in scales:
        print(f"==> benchmarking scale {scale}", flush=True)
        result = bench_scale(scale, server)
        (results / f"{scale}.json").write_text(json.dumps(result, indent=2) + "\n")
        for label, night in result["nights"].items():
            print(f"  {label} night: {night['total_seconds']} s", flush=True)
    print(f"results in {results}; tables in {bench_report.write(results)}")
    return 0
