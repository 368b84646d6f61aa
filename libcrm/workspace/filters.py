"""The filters every page offers: department (school), patron category and cohort.

Values come from the request and are only ever passed to PostgreSQL as parameters; the SQL
around them is fixed here, so no filter value can change a query.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

import psycopg
from fastapi import Request
from psycopg import sql

FIELDS = ("department", "category", "cohort")


@dataclass(frozen=True)
class Filters:
    """The chosen department, category and cohort (enrolment year); None means all."""

    department: str | None = None
    category: str | None = None
    cohort: int | None = None

    @classmethod
    def of(cls, request: Request) -> Filters:
        """The filters of a request's query string; a cohort that is not a year is ignored."""
        query = request.query_params
        cohort = query.get("cohort", "").strip()
        return cls(
            department=query.get("department", "").strip() or None,
            category=query.get("category", "").strip() or None,
            cohort=int(cohort) if cohort.isdigit() else None,
        )

    def any(self) -> bool:
        """True when at least one filter is chosen."""
        return any(getattr(self, name) is not None for name in FIELDS)

    def where(self, users: str = "u") -> tuple[sql.Composable, dict]:
        """A condition on the group columns (department, category, enrolled_year) of
        ``marts.dim_users`` or of a per-group mart, aliased ``users``, and its named
        parameters (``filter_department``, ...), to merge with the query's own."""
        alias = sql.Identifier(users)
        parts: list[sql.Composable] = [sql.SQL("true")]
        params: dict = {}
        for column, value in (
            ("department", self.department),
            ("category", self.category),
            ("enrolled_year", self.cohort),
        ):
            if value is not None:
                name = f"filter_{column}"
                parts.append(
                    sql.SQL("{}.{} = {}").format(
                        alias, sql.Identifier(column), sql.Placeholder(name)
                    )
                )
                params[name] = value
        return sql.SQL(" and ").join(parts), params

    def query_string(self) -> str:
        """The filters as a query string, for links that keep them."""
        pairs = [(name, getattr(self, name)) for name in FIELDS]
        return urlencode([(name, value) for name, value in pairs if value is not None])


def choices(conn: psycopg.Connection) -> dict[str, list]:
    """The values each filter can take, from the patrons the marts know (their groups, which
    dbt lists each night in marts.patron_groups)."""
    rows = conn.execute(
        "select array_agg(distinct department order by department)"
        "   filter (where department is not null),"
        " array_agg(distinct category order by category) filter (where category is not null),"
        " array_agg(distinct enrolled_year order by enrolled_year desc)"
        "   filter (where enrolled_year is not null)"
        " from marts.patron_groups"
    ).fetchone()
    return {name: list(values or []) for name, values in zip(FIELDS, rows, strict=True)}
