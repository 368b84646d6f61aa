"""What every workspace page shares: the connection, the signed-in account, CSRF, rendering.

A page handler takes ``page: Page = Depends(page_for(role))`` and returns ``page.render(...)``:
the dependency has already checked the session (else: redirect to the login page), the role's
permission (else: 403) and, for a form post, the CSRF token (else: 403).
"""

from __future__ import annotations

import csv
import functools
import io
import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated

import psycopg
from fastapi import Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from libcrm.workspace import accounts, i18n, vocabulary
from libcrm.workspace.accounts import Session

TEMPLATES = Path(__file__).with_name("templates")
SESSION_COOKIE = "libcrm_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

environment = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.install_gettext_callables(i18n.gettext, i18n.ngettext, newstyle=True)
environment.globals["label"] = vocabulary.label


def shown(value) -> str:
    """A value as a table cell shows it: times to the minute, shares to three places."""
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


environment.filters["shown"] = shown


class NotSignedIn(Exception):
    """The request has no live session; the app answers with a redirect to the login page."""


def connection(request: Request) -> Iterator[psycopg.Connection]:
    """A pooled warehouse connection, as ``libcrm_workspace``, in one transaction."""
    with request.app.state.pool.connection() as conn:
        yield conn


def language(request: Request) -> str:
    """The request's interface language."""
    return i18n.choose(
        request.cookies.get(i18n.LANGUAGE_COOKIE), request.headers.get("accept-language")
    )


@dataclass
class Table:
    """Rows a page shows and offers as a CSV download."""

    columns: list[str]
    rows: list[tuple]
    headers: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, cursor: psycopg.Cursor) -> Table:
        return cls([c.name for c in cursor.description], cursor.fetchall())

    def dicts(self) -> list[dict]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


@dataclass
class Page:
    """One request to a page: its connection, session, language and the way to answer."""

    request: Request
    conn: psycopg.Connection
    session: Session
    language: str

    @property
    def account(self) -> accounts.Account:
        return self.session.account

    def render(self, template: str, status: int = 200, **context) -> Response:
        """The page as HTML, or one of its tables as CSV when ``?download=<table>`` asks."""
        wanted = self.request.query_params.get("download")
        if wanted:
            table = context.get("tables", {}).get(wanted)
            if table is None:
                raise HTTPException(404, f"this page has no table {wanted!r}")
            return csv_response(table, f"{template.removesuffix('.html')}-{wanted}.csv")
        return render(self.request, template, status, session=self.session, **context)


def render(request: Request, template: str, status: int = 200, **context) -> HTMLResponse:
    """Render a template in the request's language."""
    lang = language(request)
    with i18n.use(lang):
        html = environment.get_template(template).render(
            request=request, lang=lang, path=request.url.path, **context
        )
    return HTMLResponse(html, status_code=status)


def csv_response(table: Table, filename: str) -> Response:
    """A table as a UTF-8 CSV file with a byte-order mark, so Excel reads the Chinese."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(table.headers or table.columns)
    writer.writerows(table.rows)
    return Response(
        out.getvalue(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


Connection = Annotated[psycopg.Connection, Depends(connection)]


def current_session(request: Request, conn: Connection) -> Session:
    """The request's live session; raises NotSignedIn (a redirect to sign in) when none."""
    found = accounts.session(conn, request.cookies.get(SESSION_COOKIE))
    if found is None:
        raise NotSignedIn
    return found


async def csrf_checked(
    request: Request, session: Annotated[Session, Depends(current_session)]
) -> Session:
    """The session, after checking a form post's ``csrf_token`` against it."""
    if request.method in UNSAFE_METHODS:
        sent = (await request.form()).get("csrf_token") or request.headers.get("x-csrf-token")
        if not isinstance(sent, str) or not secrets.compare_digest(sent, session.csrf_token):
            raise HTTPException(403, "the form is out of date or not from this workspace")
    return session


def page_for(permission: str = "read"):
    """A dependency giving a :class:`Page` to accounts whose role grants ``permission``."""

    def dependency(
        request: Request, conn: Connection, session: Annotated[Session, Depends(csrf_checked)]
    ) -> Page:
        if not session.account.may(permission):
            raise HTTPException(403, f"your role may not do this ({permission})")
        return Page(request, conn, session, language(request))

    return dependency


SignedIn = Annotated[Session, Depends(csrf_checked)]
# What a page handler asks for: any signed-in role, outreach (contact lists), admin (accounts).
Reader = Annotated[Page, Depends(page_for("read"))]
Exporter = Annotated[Page, Depends(page_for("export"))]
Administrator = Annotated[Page, Depends(page_for("accounts"))]


def in_page_language(handler):
    """Run a page handler with its page's language current, so that messages translated in
    Python (a JSON answer, an error message, a sentence built before rendering) are in it."""

    @functools.wraps(handler)
    def wrapper(*args, **kwargs):
        page = next(v for v in (*args, *kwargs.values()) if isinstance(v, Page))
        with i18n.use(page.language):
            return handler(*args, **kwargs)

    return wrapper
