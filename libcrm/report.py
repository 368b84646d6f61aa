"""The nightly run report for librarians: one static HTML page with its figures as PNG files.

It reads only pseudonymous marts and quality tables (never ``raw`` or ``identity``), so it
holds no personal data: leaderboards and opinion leaders show ``user_key`` pseudonyms, which
authorised staff can resolve through the ILS.
"""

from __future__ import annotations

import html
import shutil
import tempfile
import uuid
from datetime import date
from pathlib import Path

import psycopg

from libcrm import db, settings

SEGMENTS = ("long_term", "growth", "short_term", "inactive")
STAGES = ("new", "active", "returning", "at_risk", "lapsed")
LEADERS_SHOWN = 10


def reports_dir() -> Path:
    """Where reports go: ``LIBCRM_REPORTS_DIR`` or ``.local/reports``."""
    return settings.load().reports_dir


def _query(conn: psycopg.Connection, table: str, query: str, params=()) -> list[tuple]:
    """Rows of ``query``, or none when ``table`` does not exist (a mart not built yet)."""
    if conn.execute("select to_regclass(%s)", [table]).fetchone()[0] is None:
        return []
    return conn.execute(query, params).fetchall()


def _plot(path: Path, title: str, draw) -> str:
    """Draw a small figure with ``draw(axis)`` and save it as PNG; return its file name."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 3))
    draw(axis)
    axis.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path.name


def _bar(path: Path, labels, values, title: str, xlabel: str = "") -> str:
    def draw(axis):
        axis.barh(list(labels)[::-1], list(values)[::-1], color="#3b6ea8")
        axis.set_xlabel(xlabel)

    return _plot(path, title, draw)


def _lines(path: Path, series: dict[str, tuple[list, list]], title: str, ylabel: str) -> str:
    def draw(axis):
        for name, (xs, ys) in series.items():
            axis.plot(xs, ys, marker="o", label=name)
        axis.set_ylabel(ylabel)
        axis.legend()
        axis.figure.autofmt_xdate()

    return _plot(path, title, draw)


def _table(headers: list[str], rows: list[tuple]) -> str:
    if not rows:
        return "<p class='empty'>No data yet.</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return "" if value is None else str(value)


def _figure(name: str | None, alt: str) -> str:
    return f"<img src='{name}' alt='{html.escape(alt)}'>" if name else ""


def _segments(conn, folder: Path) -> str:
    counts = dict(
        _query(
            conn,
            "marts.user_profiles",
            "select value_segment, count(*) from marts.user_profiles group by 1",
        )
    )
    stages = dict(
        _query(
            conn,
            "marts.user_profiles",
            "select lifecycle_stage, count(*) from marts.user_profiles group by 1",
        )
    )
    transitions = _query(
        conn,
        "marts.segment_transitions_monthly",
        "select month_starts_on, dimension, from_state, to_state, transitions "
        "from marts.segment_transitions_monthly order by month_starts_on desc, transitions desc "
        "limit 20",
    )
    segment_png = (
        _bar(
            folder / "segments.png",
            SEGMENTS,
            [counts.get(s, 0) for s in SEGMENTS],
            "Users per value segment",
            "users",
        )
        if counts
        else None
    )
    stage_png = (
        _bar(
            folder / "lifecycle.png",
            STAGES,
            [stages.get(s, 0) for s in STAGES],
            "Lifecycle funnel",
            "users",
        )
        if stages
        else None
    )
    return (
        "<h2>Segments and lifecycle</h2>"
        + _figure(segment_png, "users per value segment")
        + _figure(stage_png, "lifecycle funnel")
        + "<h3>Recent transitions (month over month)</h3>"
        + _table(["month", "dimension", "from", "to", "users"], transitions)
    )


def _leaderboards(conn, day: date) -> str:
    rows = _query(
        conn,
        "marts.leaderboard_quarterly",
        "select metric, rank, user_key, value from marts.leaderboard_quarterly "
        "where quarter_starts_on = date_trunc('quarter', %s::date)::date order by metric, rank",
        [day],
    )
    parts = ["<h2>This quarter's leaderboards</h2>"]
    for metric, label in (("loans", "Top borrowers (books)"), ("library_hours", "Most hours")):
        board = [(rank, key, value) for m, rank, key, value in rows if m == metric]
        parts.append(f"<h3>{label}</h3>" + _table(["rank", "user", "value"], board))
    return "".join(parts)


def _leaders(conn) -> str:
    rows = _query(
        conn,
        "marts.opinion_leaders",
        "select rank, user_key, round(score::numeric, 2), followers_reached, department "
        "from marts.opinion_leaders order by rank limit %s",
        [LEADERS_SHOWN],
    )
    return "<h2>Opinion leaders</h2>" + _table(
        ["rank", "user", "score", "followers reached", "department"], rows
    )


def _events(conn, folder: Path) -> str:
    rows = _query(
        conn,
        "marts.activity_by_category",
        "select category, events_held, registrations, attended, no_shows, attendance_rate, "
        "average_rating from marts.activity_by_category order by category",
    )
    png = (
        _bar(
            folder / "attendance.png",
            [r[0] for r in rows],
            [float(r[5] or 0) for r in rows],
            "Attendance rate by event category",
            "share attended",
        )
        if rows
        else None
    )
    return (
        "<h2>Events</h2>"
        + _figure(png, "attendance rate by event category")
        + _table(
            [
                "category",
                "events",
                "registrations",
                "attended",
                "no-shows",
                "attendance rate",
                "avg rating",
            ],
            rows,
        )
    )


def _quality(conn, day: date) -> str:
    rows = _query(
        conn,
        "quality.validation_results",
        "select suite, count(*), count(*) filter (where not success and severity = 'critical'), "
        "count(*) filter (where not success and severity = 'warning') "
        "from quality.validation_results where data_date = %s and run_id = ("
        "  select run_id from quality.validation_results where data_date = %s "
        "  order by validated_at desc limit 1) group by suite order by suite",
        [day, day],
    )
    return "<h2>Data quality</h2>" + _table(
        ["suite", "expectations", "critical failures", "warnings"], rows
    )


def _recommendations(conn, folder: Path) -> str:
    rows = _query(
        conn,
        "quality.recommender_evaluations",
        "select distinct on (data_date, model) data_date, model, hit_rate_at_10, ndcg_at_10 "
        "from quality.recommender_evaluations order by data_date, model, evaluated_at desc",
    )
    series: dict[str, tuple[list, list]] = {}
    for day, model, hit_rate, _ in rows:
        series.setdefault(model, ([], []))
        series[model][0].append(day.isoformat())  # one tick per night, no hours
        series[model][1].append(hit_rate)
    png = (
        _lines(folder / "recommendations.png", series, "Hit rate @10 on the holdout", "HR@10")
        if rows
        else None
    )
    uptake = _query(
        conn,
        "marts.fct_recommendation_uptake",
        "select generated_for, model_version, kind, users_recommended, users_took_up, "
        "uptake_share from marts.fct_recommendation_uptake order by generated_for desc, kind "
        "limit 20",
    )
    return (
        "<h2>Recommendations</h2>"
        + _figure(png, "hit rate at 10 over time")
        + _table(["day", "model", "HR@10", "nDCG@10"], rows[-10:])
        + "<h3>Uptake: users who borrowed or signed up for something recommended</h3>"
        + _table(["published", "model version", "kind", "users", "took up", "share"], uptake)
    )


STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;color:#222}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:.2em .6em}
th{background:#eef2f7}img{display:block;margin:.5em 0}.empty{color:#777}"""


def _write(day: date, url: str | None, folder: Path) -> None:
    """Write the page and its figures for ``day`` into ``folder``."""
    with db.connect(url) as conn:
        sections = [
            _segments(conn, folder),
            _leaderboards(conn, day),
            _leaders(conn),
            _events(conn, folder),
            _quality(conn, day),
            _recommendations(conn, folder),
        ]
    page = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>libcrm report {day}</title>"
        f"<style>{STYLE}</style></head><body><h1>libcrm nightly report — {day}</h1>"
        "<p>Users appear only as pseudonyms (user keys); no names or card numbers.</p>"
        + "".join(sections)
        + "</body></html>"
    )
    (folder / "index.html").write_text(page)


def _move_into_place(staged: Path, folder: Path) -> None:
    """Rename ``staged`` to ``folder``, replacing the previous report only once it is moved."""
    previous = folder.with_name(f".{folder.name}-previous-{uuid.uuid4().hex[:8]}")
    if folder.exists():
        folder.rename(previous)
    try:
        staged.rename(folder)
    except OSError:
        if previous.exists():
            previous.rename(folder)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def build(day: date, url: str | None = None, folder: Path | None = None) -> Path:
    """Write the report for ``day``; return the path of its ``index.html``.

    The report is written into a temporary folder beside ``folder`` and renamed into place
    when complete, so a failure (a full disk, a database error) leaves the previous report of
    the day as it was and no partial one.
    """
    folder = folder or reports_dir() / day.isoformat()
    folder.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=folder.parent))
    try:
        staged.chmod(0o755)  # mkdtemp's 0700 would hide the report from a web server
        _write(day, url, staged)
        _move_into_place(staged, folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return folder / "index.html"
