"""The nightly run report for librarians: one static HTML page with its figures as PNG files.

It reads only pseudonymous marts and quality tables (never ``raw`` or ``identity``), so it
holds no personal data: leaderboards and opinion leaders show ``user_key`` pseudonyms, which
authorised staff can resolve through the ILS.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import jinja2
import psycopg

from libcrm import db, settings
from libcrm.report.figures import bar as _bar
from libcrm.report.figures import lines as _lines

LEADERS_SHOWN = 10


def reports_dir() -> Path:
    """Where reports go: ``LIBCRM_REPORTS_DIR`` or ``.local/reports``."""
    return settings.load().reports_dir


def _query(conn: psycopg.Connection, table: str, query: str, params=()) -> list[tuple]:
    """Rows of ``query``, or none when ``table`` does not exist (a mart not built yet)."""
    if conn.execute("select to_regclass(%s)", [table]).fetchone()[0] is None:
        return []
    return conn.execute(query, params).fetchall()


@dataclass(frozen=True)
class Figure:
    name: str
    alt: str


@dataclass(frozen=True)
class Table:
    caption: str | None
    headers: list[str]
    rows: list[tuple]


@dataclass(frozen=True)
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)


def _cell(value) -> str:
    """How a value is shown in a table cell."""
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    return "" if value is None else str(value)


def _figures(*drawn: tuple[str | None, str]) -> list[Figure]:
    """The figures that were drawn (a name of None: no data for that figure)."""
    return [Figure(name, alt) for name, alt in drawn if name]


def _vocabulary(conn, kind: str) -> list[str]:
    """The codes of one kind of label, in their order, from dbt's vocabulary seed."""
    rows = _query(
        conn,
        "marts.crm_vocabulary",
        "select code from marts.crm_vocabulary where kind = %s order by position",
        [kind],
    )
    return [code for (code,) in rows]


def _label_bar(conn, folder: Path, label: str, file_name: str, title: str) -> str | None:
    """A bar chart of users per code of ``label`` (a user_profiles column and vocabulary kind),
    in the vocabulary's order; None before the profiles exist."""
    counts = dict(
        _query(
            conn,
            "marts.user_profiles",
            f"select {label}, count(*) from marts.user_profiles group by 1",  # noqa: S608
        )
    )
    if not counts:
        return None
    codes = _vocabulary(conn, label) or sorted(counts)
    return _bar(folder / file_name, codes, [counts.get(c, 0) for c in codes], title, "users")


def _segments(conn, folder: Path) -> Section:
    transitions = _query(
        conn,
        "marts.segment_transitions_monthly",
        "select month_starts_on, dimension, from_state, to_state, transitions "
        "from marts.segment_transitions_monthly order by month_starts_on desc, transitions desc "
        "limit 20",
    )
    segment_png = _label_bar(
        conn, folder, "value_segment", "segments.png", "Users per value segment"
    )
    stage_png = _label_bar(conn, folder, "lifecycle_stage", "lifecycle.png", "Lifecycle funnel")
    return Section(
        "Segments and lifecycle",
        _figures((segment_png, "users per value segment"), (stage_png, "lifecycle funnel")),
        [
            Table(
                "Recent transitions (month over month)",
                ["month", "dimension", "from", "to", "users"],
                transitions,
            )
        ],
    )


def _leaderboards(conn, day: date) -> Section:
    """The final boards of the last completed quarter (the ones prizes are given on) and the
    running boards of the quarter the day is in."""
    rows = _query(
        conn,
        "marts.leaderboard_quarterly",
        "select quarter, is_final, metric, rank, user_key, value "
        "from marts.leaderboard_quarterly "
        "where quarter_starts_on = date_trunc('quarter', %s::date)::date "
        "or quarter_starts_on = (select max(finals.quarter_starts_on) "
        "from marts.leaderboard_quarterly as finals where finals.is_final) "
        "order by quarter_starts_on, metric, rank",
        [day],
    )
    quarters = dict.fromkeys((quarter, final) for quarter, final, *_ in rows)
    boards = [
        Table(
            f"{label}, {quarter} ({'final' if final else 'so far'})",
            ["rank", "user", "value"],
            [(r, k, v) for q, _, m, r, k, v in rows if (q, m) == (quarter, metric)],
        )
        for quarter, final in quarters
        for metric, label in (("loans", "Top borrowers (books)"), ("library_hours", "Most hours"))
    ]
    return Section("Quarterly leaderboards", tables=boards)


def _leaders(conn) -> Section:
    rows = _query(
        conn,
        "marts.opinion_leaders",
        "select rank, user_key, round(score::numeric, 2), followers_reached, department "
        "from marts.opinion_leaders order by rank limit %s",
        [LEADERS_SHOWN],
    )
    headers = ["rank", "user", "score", "followers reached", "department"]
    return Section("Opinion leaders", tables=[Table(None, headers, rows)])


def _events(conn, folder: Path) -> Section:
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
    headers = [
        "category",
        "events",
        "registrations",
        "attended",
        "no-shows",
        "attendance rate",
        "avg rating",
    ]
    return Section(
        "Events",
        _figures((png, "attendance rate by event category")),
        [Table(None, headers, rows)],
    )


def _quality(conn, day: date) -> Section:
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
    headers = ["suite", "expectations", "critical failures", "warnings"]
    return Section("Data quality", tables=[Table(None, headers, rows)])


def _recommendations(conn, folder: Path) -> Section:
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
    return Section(
        "Recommendations",
        _figures((png, "hit rate at 10 over time")),
        [
            Table(None, ["day", "model", "HR@10", "nDCG@10"], rows[-10:]),
            Table(
                "Uptake: users who borrowed or signed up for something recommended",
                ["published", "model version", "kind", "users", "took up", "share"],
                uptake,
            ),
        ],
    )


# The page is a Jinja2 template with autoescaping: every value from the warehouse is escaped.
TEMPLATES = jinja2.Environment(
    loader=jinja2.PackageLoader("libcrm", "templates"),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES.filters["cell"] = _cell


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
    page = TEMPLATES.get_template("report.html").render(day=day, sections=sections)
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
