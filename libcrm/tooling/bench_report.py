"""Render ``bench/results/*.json`` as the tables of ``docs/benchmarks.md``."""

from __future__ import annotations

import json
import os
import platform
import re
from datetime import UTC, datetime
from pathlib import Path

from libcrm import config

SCALE_ORDER = ("small", "medium", "large")
INTRO = """# Benchmarks

Measured by `make bench` (`BENCH_SCALES=small,medium,large make bench` for all three), which
simulates each library, runs two nights stage by stage — the initial load of the whole history,
then one incremental day — each stage in a fresh process as an Airflow task would run, and
measures wall time, rows per second and the stage's own peak resident memory (VmHWM). In the
same run it measures four references: a bare `psql \\copy` of the same gate log into a plain
table, bare implicit ALS (same matrix, same settings) fitting and recommending 10 items for
every user, and after the incremental night the nightly atomic publication of one million
portal rows, ten for each of 100,000 patrons, with as many history rows, and the recommend
stage of a library whose week's choice is ALS (`libcrm/tooling/bench_warm.py`: `als-blend`
selected against the most-borrowed list on the night before, then the incremental night once
on the weekly schedule, its fits warm-started, and once with every fit cold, with the nDCG@10
of both and the share of books their publications have in common). Raw results:
`bench/results/<scale>.json`. This page is regenerated from them. The load average noted per
scale says how busy the two cores were: a load near 1 is a quiet machine; a run that shared
the machine with the test suite (load 2–4) gives upper bounds. Each stage is measured once:
repeating a stage on the same machine moves its time by up to a fifth, and a stage of under a
second (medium's gate log) by more.

Validation stages cost a near-constant 7–10 s each, most of it starting a process and
importing Great Expectations; `transform` is the whole `dbt build` (models, snapshot and
tests); `recommend` includes the model selection (`evaluate`: on the initial night every
candidate of docs/recommender.md is fitted and scored; on the incremental night, by the weekly
schedule, only the week's choice and the most-borrowed list), the books step
(`books_matrix` builds the training matrix, `books_train` fits the model, `books_recommend_all`
ranks, filters, caps and explains every eligible patron's list), events and the atomic
publication of both portal tables. The `rows` column counts what each stage handles: rows read
for ingest, expectations for validation, dbt nodes for transform, rows published for
recommend (both portal tables; the publish step also appends as many rows to the history
log), recommendations for the implicit reference. Each stage and reference starts once
PostgreSQL's autovacuum is idle, so a vacuum left by the previous stage does not take a core
from the next measurement (the wait is recorded as `waited_for_autovacuum_s`, not in the
times). Under each night, the two ratios the
goals are stated in: ingest rows/s against the bare `psql \\copy`, and the books step's train +
recommend-all against the bare implicit fit + recommend.
"""


def _stage_rows(night: dict) -> list[str]:
    lines = ["| stage | seconds | rows | rows/s | peak RSS (MiB) |", "|---|---:|---:|---:|---:|"]
    for stage in night["stages"] + night.get("references", []):
        peak = stage.get("peak_rss_mib")
        lines.append(
            f"| {stage['stage']} | {stage['seconds']:.2f} | {stage['rows']:,} | "
            f"{stage['rows_per_second'] or 0:,.0f} | {'' if peak is None else f'{peak:,.0f}'} |"
        )
        if stage.get("steps"):
            steps = ", ".join(f"{name} {seconds:.2f} s" for name, seconds in stage["steps"].items())
            lines.append(f"| &nbsp;&nbsp;↳ {steps} | | | | |")
    return lines


def _by_stage(night: dict) -> dict[str, dict]:
    return {stage["stage"]: stage for stage in night["stages"] + night.get("references", [])}


def comparisons(night: dict) -> list[str]:
    """The night's ratios against its references (none when a reference is missing)."""
    stages, lines = _by_stage(night), []
    gate = stages.get("ingest_gate")
    copy = next((s for name, s in stages.items() if name.startswith("reference: psql")), None)
    if gate and copy and gate["rows_per_second"] and copy["rows_per_second"]:
        ratio = gate["rows_per_second"] / copy["rows_per_second"]
        lines.append(
            f"- ingest_gate {gate['rows_per_second']:,.0f} rows/s against `psql \\copy` "
            f"{copy['rows_per_second']:,.0f} rows/s: **{ratio:.2f}×** (goal ≥ 0.5×)"
        )
    steps = stages.get("recommend", {}).get("steps", {})
    bare = next((s for name, s in stages.items() if name.startswith("reference: bare")), None)
    if bare and "books_train" in steps and "books_recommend_all" in steps:
        ours = steps["books_train"] + steps["books_recommend_all"]
        theirs = bare["steps"]["fit"] + bare["steps"]["recommend"]
        matrix = steps.get("books_matrix", 0.0)
        model = stages["recommend"].get("published_model", "")
        # The goal compares ALS with bare ALS: a night that published another candidate
        # trained no ALS, and its ratio says nothing about that goal.
        note = "" if model.startswith("als") or not model else f" — not ALS: {model} published"
        lines.append(
            f"- books train + recommend-all {ours:.2f} s against bare implicit fit + recommend "
            f"{theirs:.2f} s: **{ours / theirs:.2f}×** (goal ≤ 1.3×); with the matrix build "
            f"({matrix:.2f} s) {(ours + matrix) / theirs:.2f}×{note}"
        )
    publish = next((s for name, s in stages.items() if name.startswith("reference: publish")), None)
    if publish:
        seconds = publish["steps"]["publish"]
        lines.append(
            f"- {publish['rows']:,} portal rows (and as many history rows) published in one "
            f"transaction in {seconds:.2f} s: **{publish['rows'] / seconds:,.0f} rows/s** "
            "(goal ≤ 60 s)"
        )
    kept = next((s for name, s in stages.items() if name.startswith("reference: recommend")), None)
    if kept:
        lines.append(_kept_als(kept))
    return lines


def _kept_als(stage: dict) -> str:
    quality = stage.get("quality", {})
    if "skipped" in quality:
        return (
            f"- recommend with ALS kept: not measured, ALS did not win here ({quality['skipped']})"
        )
    steps = stage["steps"]
    return (
        f"- recommend with ALS kept (als-blend, weekly schedule): **{steps['warm']:.1f} s "
        f"warm-started** against {steps['cold']:.1f} s with every fit cold (evaluate "
        f"{steps.get('warm_evaluate', 0):.1f} vs {steps.get('cold_evaluate', 0):.1f} s, "
        f"training {steps.get('warm_books_train', 0):.1f} vs "
        f"{steps.get('cold_books_train', 0):.1f} s); nDCG@10 "
        f"{quality['warm_ndcg_at_10']:.4f} warm vs {quality['cold_ndcg_at_10']:.4f} cold "
        f"(most-borrowed {quality['popularity_ndcg_at_10']:.4f}); the two publications share "
        f"{quality['shared_books']:.0%} of their books"
    )


def _audience(result: dict) -> str:
    """The audience whose page was measured, in words (runs before it measured none)."""
    if "audience" not in result:
        return ""
    audience = result["audience"]
    return (
        f" (the audience page: “{audience['name']}”, {audience['members']:,} members, saved by"
        " the benchmark with the audience builder's form and archived after it)"
    )


def workspace_section(result: dict) -> str:
    """The table of one ``bench-workspace`` run: each page's render times."""
    machine = result["machine"]
    lines = [
        f"## Workspace pages ({result['scale']} library)\n",
        f"`python -m libcrm bench-workspace --scale {result['scale']}` on the warehouse of a "
        f"{result['scale']} `make demo` ({result['patrons']:,} patrons): the workspace served as "
        "its own process, each page requested over loopback HTTP by a signed-in librarian "
        f"{result['rounds']} times in a row after one warm-up request{_audience(result)}. Machine: "
        f"{machine['cpus']} CPUs, {machine['platform']}, Python {machine['python']}, measured "
        f"{result['measured_at']} with load average {result['load_average_at_end'][0]} at the "
        f"end. Goal: p95 ≤ {result['goal_p95_ms']} ms per page.\n",
        "| page | status | median ms | p95 ms | slowest ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for page, times in result["pages"].items():
        shown = re.sub(r"/readers/\w+", "/readers/<most active reader>", page)
        shown = re.sub(r"/audiences/\d+", "/audiences/<the benchmark's audience>", shown)
        mark = " ✗" if times["p95_ms"] > result["goal_p95_ms"] else ""
        lines.append(
            f"| `{shown}` | {times['status']} | {times['median_ms']:.1f} | "
            f"{times['p95_ms']:.1f}{mark} | {times['max_ms']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def render(results: Path) -> str:
    """The whole page for the JSON results in ``results``."""
    found = {path.stem: json.loads(path.read_text()) for path in results.glob("*.json")}
    parts = [INTRO]
    for scale in [s for s in SCALE_ORDER if s in found]:
        result = found[scale]
        machine = result["machine"]
        parts.append(f"## {scale}\n")
        parts.append(
            f"{result['simulated']} — simulated in {result['simulate_seconds']} s. "
            f"Machine: {machine['cpus']} CPUs, {machine['platform']}, Python "
            f"{machine['python']}"
            + (f", measured {result['measured_at']}" if "measured_at" in result else "")
            + (
                f" with load average {result['load_average_at_end'][0]} at the end"
                if "load_average_at_end" in result
                else ""
            )
            + ".\n"
        )
        for label, night in result["nights"].items():
            parts.append(f"**{label} night: {night['total_seconds']} s**\n")
            parts.append("\n".join(_stage_rows(night)) + "\n")
            if ratios := comparisons(night):
                parts.append("\n".join(ratios) + "\n")
    for path in sorted(results.glob("workspace-*.json")):
        parts.append(workspace_section(json.loads(path.read_text())))
    return "\n".join(parts)


def measured_on() -> dict:
    """The machine a result is measured on, when, and how busy it was at the end: the fields
    every result file carries for the pages this module renders."""
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def write(results: Path, doc: Path | None = None) -> Path:
    """Regenerate ``doc`` (by default the checkout's ``docs/benchmarks.md``) from ``results``."""
    doc = doc or config.checkout("the benchmark's tables are docs/") / "docs" / "benchmarks.md"
    doc.write_text(render(results))
    return doc
