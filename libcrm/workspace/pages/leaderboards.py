"""Leaderboards: the final board of the last completed quarter (the one prizes go by) and the
board of the quarter under way, per metric, showing the places the chosen readers hold."""

from __future__ import annotations

import psycopg
from fastapi import APIRouter
from psycopg import sql

from libcrm.workspace import filters, web
from libcrm.workspace.i18n import N_
from libcrm.workspace.pages.segments import thresholds

router = APIRouter()

METRICS = {"loans": N_("Book loans"), "library_hours": N_("Hours in the library")}

QUARTERS = """
select quarter, quarter_starts_on, bool_and(is_final) as is_final
from marts.leaderboard_quarterly
group by quarter, quarter_starts_on
order by quarter_starts_on desc
"""

BOARD = sql.SQL("""
select b.metric, b.rank, b.user_key, u.department, u.category, u.enrolled_year, b.value
from marts.leaderboard_quarterly as b
join marts.dim_users as u using (user_key)
where {where} and b.quarter = %(quarter)s
order by b.metric, b.rank, b.user_key
""")


def quarters(conn: psycopg.Connection) -> list[tuple[str, bool]]:
    """Every quarter with a board, latest first, and whether its board is final."""
    return [(quarter, final) for quarter, _, final in conn.execute(QUARTERS).fetchall()]


def board(conn: psycopg.Connection, chosen: filters.Filters, quarter: str) -> dict[str, web.Table]:
    """Per metric, the places of a quarter's board the chosen readers hold."""
    where, params = chosen.where("u")
    rows = conn.execute(BOARD.format(where=where), {**params, "quarter": quarter}).fetchall()
    columns = ["rank", "user_key", "department", "category", "enrolled_year", "value"]
    return {
        metric: web.Table(columns, [row[1:] for row in rows if row[0] == metric])
        for metric in METRICS
    }


@router.get("/leaderboards")
def leaderboards(page: web.Reader, final: str = ""):
    chosen = filters.Filters.of(page.request)
    known = quarters(page.conn)
    finals = [quarter for quarter, is_final in known if is_final]
    current = next((quarter for quarter, is_final in known if not is_final), None)
    final_quarter = final if final in finals else (finals[0] if finals else None)
    boards = []  # (name, quarter, is_final, {metric: table})
    if final_quarter:
        boards.append(("final", final_quarter, True, board(page.conn, chosen, final_quarter)))
    if current:
        boards.append(("current", current, False, board(page.conn, chosen, current)))
    tables = {
        f"{name}_{metric}": table
        for name, _, _, by_metric in boards
        for metric, table in by_metric.items()
    }
    return page.render(
        "leaderboards.html",
        filters=chosen,
        choices=filters.choices(page.conn),
        finals=finals,
        final_quarter=final_quarter,
        boards=boards,
        metrics=METRICS,
        places=thresholds()["leaderboard_places"],
        tables=tables,
    )
