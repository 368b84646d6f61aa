"""The workspace's web application: sign-in, language, static files and the pages' routers."""

from __future__ import annotations

import secrets
from contextlib import asynccontextmanager
from functools import cache
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

import psycopg
from fastapi import FastAPI, Form, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import PlainTextResponse, RedirectResponse, Response
from psycopg_pool import ConnectionPool

from libcrm import config, settings
from libcrm.workspace import accounts, i18n, web
from libcrm.workspace.pages import ROUTERS

STATIC = Path(__file__).with_name("static")
LOGIN_CSRF_COOKIE = "libcrm_login_csrf"
# Pages may load scripts and styles from the workspace itself only (the charting library is
# served from the installed plotly package); plotly sets inline styles on its charts.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def _as_workspace(conn: psycopg.Connection) -> None:
    """Every pooled connection acts as libcrm_workspace, whoever the login user is.

    Page queries are short aggregations: compiling them (jit) costs more than it saves, and
    their sorts and hashes fit in 32 MB instead of spilling to disk."""
    conn.execute("set role libcrm_workspace")
    conn.execute("set jit = off")
    conn.execute("set work_mem = '32MB'")
    conn.commit()


def create_app(database_url: str | None = None) -> FastAPI:
    """The workspace on a warehouse (``LIBCRM_DATABASE_URL`` or the demo's, by default)."""
    url = database_url or config.database_url()
    https = settings.load().workspace_https

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        with ConnectionPool(
            url, min_size=1, max_size=8, configure=_as_workspace, open=True, timeout=10
        ) as pool:
            app.state.pool = pool
            yield

    app = FastAPI(title="libcrm workspace", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.https = https

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        # The request's language is current for all of it: messages worded in Python too.
        with i18n.use(web.language(request)):
            response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.exception_handler(web.NotSignedIn)
    async def sign_in_first(request: Request, _error: web.NotSignedIn):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(HTTPException)
    async def error_page(request: Request, error: HTTPException):
        if request.url.path.startswith("/api/"):
            return PlainTextResponse(str(error.detail), status_code=error.status_code)
        return web.render(request, "error.html", error.status_code, error=error)

    app.add_api_route("/healthz", healthz, methods=["GET"], response_class=PlainTextResponse)
    app.add_api_route("/login", login_form, methods=["GET"])
    app.add_api_route("/login", login, methods=["POST"])
    app.add_api_route("/logout", logout, methods=["POST"])
    app.add_api_route("/language/{code}", switch_language, methods=["GET"])
    app.add_api_route("/static/{name}", static, methods=["GET"])
    for router in ROUTERS:
        app.include_router(router)
    return app


def healthz() -> str:
    """200 while the process serves requests."""
    return "ok"


def _local(target: str | None) -> str:
    """A redirect target inside the workspace (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def login_form(request: Request, next: str = "/", failed: str | None = None) -> Response:  # noqa: A002
    token = secrets.token_urlsafe(32)
    response = web.render(request, "login.html", next=_local(next), csrf_token=token, failed=failed)
    _cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


def login(
    request: Request,
    conn: web.Connection,
    username: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",  # noqa: A002
) -> Response:
    """Check the sign-in form; on success set the session cookie and go where the user was."""
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not secrets.compare_digest(csrf_token, expected):
        raise HTTPException(403, "the sign-in form is out of date; reload the page")
    client = request.client.host if request.client else "unknown"
    username = username.strip().lower()
    if accounts.sign_in_refused(conn, username, client):
        conn.execute(
            "insert into workspace.login_attempts (username, client, succeeded)"
            " values (%s, %s, false)",
            [username, client],
        )
        conn.commit()
        with i18n.use(web.language(request)):
            detail = i18n.gettext(
                "Too many failed sign-ins. Wait %(minutes)s minutes and try again.",
                minutes=int(accounts.FAILURE_WINDOW.total_seconds() // 60),
            )
        return web.render(
            request,
            "login.html",
            429,
            next=_local(next),
            csrf_token=expected,
            failed=None,
            refused=detail,
        )
    token = accounts.sign_in(conn, username, password, client)
    conn.commit()
    if token is None:
        return RedirectResponse(f"/login?failed=1&next={quote(_local(next))}", status_code=303)
    response = RedirectResponse(_local(next), status_code=303)
    _cookie(request, response, web.SESSION_COOKIE, token)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


def logout(
    request: Request,
    session: web.SignedIn,
    conn: web.Connection,
) -> Response:
    accounts.sign_out(conn, request.cookies.get(web.SESSION_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(web.SESSION_COOKIE)
    return response


def switch_language(request: Request, code: str, next: str = "/") -> Response:  # noqa: A002
    """Remember the chosen language for a year and go back to the page."""
    if code not in i18n.LANGUAGES:
        raise HTTPException(404, f"no interface language {code!r}")
    response = RedirectResponse(_local(next), status_code=303)
    _cookie(request, response, i18n.LANGUAGE_COOKIE, code, max_age=365 * 86400, http_only=False)
    return response


def static(name: str) -> Response:
    """The workspace's stylesheet and script, and the charting library from its package."""
    if name == "plotly.min.js":
        return Response(
            _plotly_js(),
            media_type="text/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )
    files = {path.name: path for path in STATIC.iterdir()}
    if name not in files:
        raise HTTPException(404, "no such file")
    media = "text/css" if name.endswith(".css") else "text/javascript"
    return Response(
        files[name].read_bytes(),
        media_type=media,
        headers={"Cache-Control": "public, max-age=3600"},
    )


@cache
def _plotly_js() -> str:
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def _cookie(
    request: Request,
    response: Response,
    name: str,
    value: str,
    max_age: int | None = None,
    http_only: bool = True,
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=http_only,
        samesite="lax",
        secure=request.app.state.https,
        path="/",
    )
