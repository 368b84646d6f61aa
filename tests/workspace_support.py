"""A built warehouse and the workspace served from it on loopback, for the workspace's tests."""

from __future__ import annotations

import re
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import httpx
import uvicorn

from libcrm import db, transform
from libcrm.workspace import accounts
from libcrm.workspace.app import create_app
from tests.test_dbt_marts import FIRST_DAY, load_library, separate_dbt_folders

NIGHTS = 2
LAST_NIGHT = FIRST_DAY + timedelta(days=NIGHTS - 1)
PASSWORD = "correct horse battery staple"  # noqa: S105 - the test accounts' password
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def build_library(url: str, folder) -> dict:
    """Simulate a small library and run its first nights' loads and dbt builds."""
    with separate_dbt_folders(folder):
        truth = load_library(url, folder, NIGHTS)
        for offset in range(NIGHTS):
            transform.build(FIRST_DAY + timedelta(days=offset), url)
    return truth


def quality_row(url: str) -> None:
    """One passed validation for the last night, as the pipeline's validation writes it."""
    with db.connect(url) as conn:
        conn.execute(
            "insert into quality.validation_results (run_id, data_date, suite, expectation,"
            " severity, success) values ('test', %s, 'marts', 'rows', 'critical', true)",
            [LAST_NIGHT],
        )


@contextmanager
def served(url: str, factory=create_app):
    """The workspace (or the application ``factory`` makes) on a free loopback port, served by
    uvicorn in a thread; yields its URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(factory(url), log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the workspace did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


def make_account(url: str, username: str, role: str) -> str:
    """Create an account (if new) with the test password; return its user name."""
    with db.connect(url) as conn:
        exists = conn.execute(
            "select 1 from workspace.accounts where username = %s", [username]
        ).fetchone()
        if not exists:
            accounts.create_account(conn, username, role, PASSWORD, "tests")
    return username


def client(base: str, **kwargs) -> httpx.Client:
    """An HTTP client of the workspace that keeps cookies and does not follow redirects."""
    return httpx.Client(base_url=base, follow_redirects=False, timeout=30, **kwargs)


def sign_in(http: httpx.Client, username: str, password: str = PASSWORD) -> httpx.Response:
    """Fill in and send the sign-in form as a browser would."""
    form = http.get("/login")
    token = CSRF_FIELD.search(form.text).group(1)
    return http.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": "/"},
    )


def csrf_of(http: httpx.Client, path: str = "/") -> str:
    """The CSRF token a signed-in page carries."""
    return CSRF_FIELD.search(http.get(path).text).group(1)
