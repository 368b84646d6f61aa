"""The workspace against what a security reviewer tries: pages without signing in, forged
forms, guessed passwords, SQL in filter values, personal data on a librarian's pages, and the
database roles behind it all. Every test talks to a real server on loopback."""

from __future__ import annotations

import re

import psycopg
import pytest
from psycopg import sql

from libcrm.workspace import accounts
from libcrm.workspace.app import create_app
from tests import workspace_support as ws

SAMPLE_USER_KEY = "0" * 32


def get_pages(url: str) -> list[str]:
    """Every GET page of the app that is not public, with path parameters filled in."""
    public = {"/healthz", "/login", "/language/{code}", "/static/{name}"}
    paths = []
    for route in create_app(url).routes:
        if "GET" in getattr(route, "methods", ()) and route.path not in public:
            if route.path.startswith(("/openapi", "/docs", "/redoc", "/api/")):
                continue
            paths.append(re.sub(r"\{[^}]+\}", SAMPLE_USER_KEY, route.path))
    return paths


def test_health_answers_without_signing_in(workspace):
    with ws.client(workspace) as http:
        assert http.get("/healthz").status_code == 200


def test_every_data_page_sends_a_stranger_to_the_login_page(workspace, library_warehouse):
    pages = get_pages(library_warehouse["url"])
    assert "/" in pages
    with ws.client(workspace) as http:
        for path in pages:
            answer = http.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/login?next="), path


def test_sign_in_sets_a_session_cookie_only_scripts_cannot_read(workspace, library_warehouse):
    ws.make_account(library_warehouse["url"], "cookie.check", "librarian")
    with ws.client(workspace) as http:
        answer = ws.sign_in(http, "cookie.check")
        assert answer.status_code == 303 and answer.headers["location"] == "/"
        cookie = next(
            h for h in answer.headers.get_list("set-cookie") if h.startswith("libcrm_session=")
        )
        assert "HttpOnly" in cookie and "SameSite=lax" in cookie
        page = http.get("/")
        assert page.status_code == 200
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"


def test_passwords_are_stored_as_argon2id_hashes(library_warehouse):
    ws.make_account(library_warehouse["url"], "hash.check", "librarian")
    with psycopg.connect(library_warehouse["url"]) as conn:
        stored = conn.execute(
            "select password_hash from workspace.accounts where username = 'hash.check'"
        ).fetchone()[0]
    assert stored.startswith("$argon2id$") and ws.PASSWORD not in stored


def test_wrong_passwords_are_rate_limited_for_that_user_name(workspace, library_warehouse):
    ws.make_account(library_warehouse["url"], "guessed", "librarian")
    ws.make_account(library_warehouse["url"], "bystander", "librarian")
    with ws.client(workspace) as http:
        for _ in range(accounts.FAILURES_PER_USER):
            failed = ws.sign_in(http, "guessed", "wrong password 123")
            assert failed.headers["location"].startswith("/login?failed=1")
        refused = ws.sign_in(http, "guessed")  # the right password, too late
        assert refused.status_code == 429
        assert "libcrm_session" not in refused.headers.get("set-cookie", "")
    with ws.client(workspace) as http:
        assert ws.sign_in(http, "bystander").status_code == 303


def test_a_form_without_its_csrf_token_is_refused(workspace, library_warehouse):
    ws.make_account(library_warehouse["url"], "csrf.check", "librarian")
    with ws.client(workspace) as http:
        ws.sign_in(http, "csrf.check")
        assert http.post("/logout", data={}).status_code == 403
        assert http.post("/logout", data={"csrf_token": "forged"}).status_code == 403
        assert http.get("/").status_code == 200, "the refused sign-out must not end the session"
        assert http.post("/logout", data={"csrf_token": ws.csrf_of(http)}).status_code == 303
        assert http.get("/").status_code == 303
    with ws.client(workspace) as http:  # a sign-in form posted from elsewhere
        answer = http.post(
            "/login", data={"username": "csrf.check", "password": ws.PASSWORD, "csrf_token": "x"}
        )
        assert answer.status_code == 403


def test_after_signing_in_the_workspace_never_sends_the_user_to_another_site(
    workspace, library_warehouse
):
    ws.make_account(library_warehouse["url"], "redirect.check", "librarian")
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        with ws.client(workspace) as http:
            token = ws.CSRF_FIELD.search(http.get("/login").text).group(1)
            answer = http.post(
                "/login",
                data={
                    "username": "redirect.check",
                    "password": ws.PASSWORD,
                    "csrf_token": token,
                    "next": target,
                },
            )
            assert answer.status_code == 303 and answer.headers["location"] == "/", target


def test_sql_in_a_filter_value_is_only_a_value(workspace, library_warehouse):
    url = library_warehouse["url"]
    ws.make_account(url, "injection.check", "librarian")
    attempts = ["x' or '1'='1", "x'; drop table marts.dim_users; --", "1 or 1=1"]
    with ws.client(workspace) as http:
        ws.sign_in(http, "injection.check")
        everyone = http.get("/", params={"download": "measures"}).text
        for value in attempts:
            for field in ("department", "category", "cohort"):
                answer = http.get("/", params={field: value})
                assert answer.status_code == 200, (field, value)
                measures = http.get("/", params={field: value, "download": "measures"}).text
                if field == "cohort":  # not a year: the filter is not applied
                    assert measures == everyone
                else:  # no department or category has that name
                    assert re.search(r"^loans,0,", measures, re.M), (field, value, measures)
    with psycopg.connect(url) as conn:
        assert conn.execute("select count(*) from marts.dim_users").fetchone()[0] > 0


def personal_values(url: str) -> set[str]:
    """Names, e-mails, cards and patron ids of the patrons, long enough to search for."""
    with psycopg.connect(url) as conn:
        rows = conn.execute("select name, email, barcode, patron_id from raw.patrons").fetchall()
    return {value for row in rows for value in row if value and len(value) >= 4}


def test_a_librarian_never_sees_a_name_e_mail_card_or_patron_id(workspace, library_warehouse):
    url = library_warehouse["url"]
    secrets = personal_values(url)
    assert len(secrets) > 100
    ws.make_account(url, "privacy.check", "librarian")
    with ws.client(workspace) as http:
        ws.sign_in(http, "privacy.check")
        for path in get_pages(url):
            page = http.get(path)
            downloads = set(re.findall(r"download=(\w+)", page.text))
            bodies = [page.text] + [http.get(path, params={"download": d}).text for d in downloads]
            for body in bodies:
                leaked = [value for value in secrets if value in body]
                assert not leaked, (path, leaked[:3])


def test_the_portal_cannot_read_the_workspace_and_the_workspace_cannot_read_identities(
    library_warehouse,
):
    with psycopg.connect(library_warehouse["url"], autocommit=True) as conn:
        for role, table in (
            ("libcrm_portal", "workspace.accounts"),
            ("libcrm_portal", "workspace.audit_log"),
            ("libcrm_portal", "marts.user_profiles"),
            ("libcrm_workspace", "raw.patrons"),
            ("libcrm_workspace", "identity.patron_keys"),
            ("libcrm_workspace", "portal.resource_recommendations"),
        ):
            conn.execute(sql.SQL("set role {}").format(sql.Identifier(role)))
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(
                    sql.SQL("select 1 from {} limit 1").format(sql.Identifier(*table.split(".")))
                )
            conn.execute("reset role")
