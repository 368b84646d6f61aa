"""The references ``make bench`` sets the nightly stages against: a bare ``psql \\copy`` of the
gate log, bare implicit on the production matrix, a million rows through the atomic
publication; each measured on a quiet server."""

from __future__ import annotations

import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import psycopg

from libcrm import db

# Each stage and reference starts on a quiet server: after a stage that wrote millions of
# rows, PostgreSQL's autovacuum would otherwise take one of the two cores from whatever is
# measured next, and the comparison with the references would measure the vacuum.
QUIET_POLL_SECONDS = 1.0
QUIET_TIMEOUT_SECONDS = 900.0


def implicit_reference(day: date) -> tuple[int, dict[str, float]]:
    """Bare implicit on the production matrix: fit, then top 10 for every row.

    Returns the rows recommended and the seconds of each step; compare ``fit`` + ``recommend``
    with ``books_train`` + ``books_recommend_all`` of the nightly recommend stage.

    The same matrix (``recsys.resources.production_axes``) and ALS settings as the nightly
    books step, without the department blend, class cap, explanations or fallbacks, so the two
    times show libcrm's overhead.
    """
    import numpy as np

    from recsys import resources
    from recsys.models import Als
    from recsys.warehouse import read_catalogue

    with db.connect() as conn:
        catalogue = read_catalogue(conn)
    matrix = resources.production_axes(catalogue, day)[0].data.matrix
    model = Als().implicit_model()
    started = time.perf_counter()
    model.fit(matrix, show_progress=False)
    fitted = time.perf_counter()
    rows = np.arange(matrix.shape[0])
    ids, _ = model.recommend(rows, matrix[rows], N=10, filter_already_liked_items=True)
    done = time.perf_counter()
    return int(ids.size), {"fit": round(fitted - started, 3), "recommend": round(done - fitted, 3)}


def publish_reference(day: date, rows: int) -> tuple[int, dict[str, float]]:
    """Publish ``rows`` book recommendations (ten per patron) and as many history rows through
    the nightly atomic publication, replacing the stage's portal tables.

    Returns the rows published and the seconds of the publication alone (the rows are built
    in memory first, as the nightly stage builds them).
    """
    from recsys.nightly import ACTIVITY_COLUMNS, RESOURCE_COLUMNS
    from recsys.publish import Replacement, replace_all

    version = f"als-{day:%Y%m%d}"
    from psycopg.types.json import Jsonb

    from recsys.reasons import Reason

    why = Reason("borrowed_similar", {"title": "Introduction to Algorithms"})
    reason = (why.english, why.code, Jsonb(why.params))
    books = [
        (f"P{index // 10:07d}", index % 10 + 1, f"I{index % 200_000:07d}", 1.0 / (index % 10 + 1))
        for index in range(rows)
    ]
    portal = [(*book, *reason, day, version) for book in books]
    history = [
        ("resource", f"{index:032x}", *book[1:], day, version, *reason[1:])
        for index, book in enumerate(books)
    ]
    started = time.perf_counter()
    with db.connect() as conn:
        publication = replace_all(
            conn,
            [
                Replacement(("portal", "resource_recommendations"), RESOURCE_COLUMNS, portal),
                Replacement(("portal", "activity_recommendations"), ACTIVITY_COLUMNS, []),
            ],
            history,
            day,
        )
    return publication.rows_written[0], {"publish": round(time.perf_counter() - started, 3)}


def wait_for_quiet(database: str) -> float:
    """Wait until no autovacuum worker runs on the server; return the seconds waited."""
    started = time.perf_counter()
    with psycopg.connect(database, autocommit=True) as conn:
        while time.perf_counter() - started < QUIET_TIMEOUT_SECONDS:
            busy = conn.execute(
                "select count(*) from pg_stat_activity where backend_type = 'autovacuum worker'"
            ).fetchone()[0]
            if not busy:
                break
            time.sleep(QUIET_POLL_SECONDS)
    return round(time.perf_counter() - started, 1)


def copy_reference(database: str, landing: Path, day: date) -> dict | None:
    """Time a bare ``psql \\copy`` of the day's gate log into a plain table (None without psql)."""
    psql = shutil.which("psql")
    gate_log = landing / "gate" / day.isoformat() / "gate_log.csv"
    if psql is None or not gate_log.exists():
        return None
    with psycopg.connect(database, autocommit=True) as conn:
        conn.execute(
            "create table if not exists public.bench_copy (card_number text, passed_at timestamp,"
            " direction text, gate_id text)"
        )
        conn.execute("truncate public.bench_copy")
    waited = wait_for_quiet(database)
    command = f"\\copy public.bench_copy from '{gate_log}' with (format csv, header true)"
    started = time.perf_counter()
    subprocess.run([psql, database, "-q", "-c", command], check=True)
    seconds = time.perf_counter() - started
    with psycopg.connect(database) as conn:
        rows = conn.execute("select count(*) from public.bench_copy").fetchone()[0]
        conn.execute("drop table public.bench_copy")
    return {
        "stage": "reference: psql \\copy gate_log.csv",
        "seconds": round(seconds, 2),
        "rows": rows,
        "rows_per_second": round(rows / seconds, 1),
        "waited_for_autovacuum_s": waited,
    }
