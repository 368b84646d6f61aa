"""Opinion leaders: the readers whose books others borrow after them, with their department,
the subjects they lead in (the CLC classes of the works their followers took up after them,
not the classes they borrow most), the followers they reach and their score, and how the
leaders spread over the departments and the subjects."""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from fastapi import APIRouter
from psycopg import sql

from libcrm.workspace import charts, filters, i18n, web
from libcrm.workspace.i18n import gettext
from libcrm.workspace.pages.segments import thresholds
from libcrm.workspace.vocabulary import clc_name

router = APIRouter()

# Leaders listed per page: the whole list (767 on the large library) took most of the page's
# time to render; the cards, charts and the CSV download still cover every chosen leader.
LEADERS_PER_PAGE = 100


LEADERS = sql.SQL("""
select
    o.rank, o.user_key, u.department, u.category, o.subjects, o.followers_reached,
    o.books_carried, o.score, o.co_borrowers, o.average_lead_days
from marts.opinion_leaders as o
join marts.dim_users as u using (user_key)
where {where}
order by o.rank
""")


def leaders(conn: psycopg.Connection, chosen: filters.Filters) -> web.Table:
    """The chosen readers who are opinion leaders, by the library's rank."""
    where, params = chosen.where("u")
    return web.Table.of(conn.execute(LEADERS.format(where=where), params))


def by_department(table: web.Table) -> web.Table:
    """Leaders, followers reached and books carried per department, most leaders first."""
    totals: dict[str, list[int]] = {}
    for row in table.dicts():
        counts = totals.setdefault(row["department"] or "—", [0, 0, 0])
        counts[0] += 1
        counts[1] += row["followers_reached"]
        counts[2] += row["books_carried"]
    ordered = sorted(totals.items(), key=lambda item: (-item[1][0], item[0]))
    return web.Table(
        ["department", "leaders", "followers_reached", "books_carried"],
        [(name, *counts) for name, counts in ordered],
    )


def by_subject(table: web.Table) -> web.Table:
    """How many leaders lead in each CLC class (among the top classes their followers took
    up), most leaders first."""
    counts: dict[str, int] = {}
    for row in table.dicts():
        for code in (row["subjects"] or "").split(","):
            if code:
                counts[code] = counts.get(code, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return web.Table(["clc_class", "leaders"], [(clc_name(code), n) for code, n in ordered])


@dataclass(frozen=True)
class Paging:
    """Which page of a list is shown: ``number`` (from 1) of ``pages``, rows ``first`` to
    ``last`` (from 1) of ``total``."""

    number: int
    pages: int
    first: int
    last: int
    total: int

    @classmethod
    def of(cls, requested: str, total: int, size: int) -> Paging:
        """The page a ``?page=`` value asks for; not a number: the first, past the end: the
        last."""
        pages = max(1, -(-total // size))
        number = min(max(int(requested), 1), pages) if requested.isdigit() else 1
        first = (number - 1) * size
        return cls(number, pages, first + 1, min(first + size, total), total)

    def rows(self, rows: list) -> list:
        return rows[self.first - 1 : self.last]


@router.get("/leaders")
def opinion_leaders(page: web.Reader):
    # Messages built here (chart labels, rules) need the page's language, as the template.
    with i18n.use(page.language):
        return _opinion_leaders(page)


def _opinion_leaders(page: web.Page):
    chosen = filters.Filters.of(page.request)
    found = leaders(page.conn, chosen)
    departments = by_department(found)
    subjects = by_subject(found)
    shown = web.Table(
        [
            "rank",
            "user_key",
            "department",
            "category",
            "subjects",
            "followers_reached",
            "books_carried",
            "score",
            "co_borrowers",
            "average_lead_days",
        ],
        [
            (
                *row[:4],
                ", ".join(clc_name(code) for code in (row[4] or "").split(",") if code),
                *row[5:],
            )
            for row in found.rows
        ],
    )
    paging = Paging.of(page.request.query_params.get("page", ""), len(shown.rows), LEADERS_PER_PAGE)
    department_chart = charts.bars(
        [row[0] for row in departments.rows],
        {
            gettext("Opinion leaders"): [row[1] for row in departments.rows],
            gettext("Followers reached"): [row[2] for row in departments.rows],
        },
    )
    subject_chart = charts.bars(
        [row[0].split(" ")[0] for row in subjects.rows],  # the codes: the names are too long
        {gettext("Opinion leaders"): [row[1] for row in subjects.rows]},
    )
    return page.render(
        "leaders.html",
        filters=chosen,
        choices=filters.choices(page.conn),
        leaders=shown,
        paging=paging,
        page_of_leaders=web.Table(shown.columns, paging.rows(shown.rows)),
        rules=thresholds(),
        departments=departments,
        department_chart=department_chart,
        subject_chart=subject_chart,
        tables={"leaders": shown, "departments": departments, "subjects": subjects},
    )
