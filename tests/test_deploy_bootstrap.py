"""A warehouse prepared as docs/deploy.md says: a superuser runs deploy/init-warehouse.sql once,
then the pipeline's login ``libcrm``, no superuser, bootstraps the schema on every run, and the
contract's roles work afterwards."""

from __future__ import annotations

import contextlib
import re
import secrets
import shutil
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import errors, sql

from libcrm import db
from libcrm.api import tokens
from libcrm.tooling import localdb
from libcrm.workspace import accounts

ROOT = Path(__file__).resolve().parents[1]
INIT_SQL = ROOT / "deploy" / "init-warehouse.sql"
PIPELINE_LOGIN = "libcrm"  # the login init-warehouse.sql creates, as in docs/deploy.md
# Roles belong to the whole server: this test alone creates or drops the login ``libcrm``, and
# holds this advisory lock meanwhile so that two test sessions on one server never share it.
LOGIN_LOCK = 7_411_053

# What the schema gives a role and who owns what: a second bootstrap must leave it all as is.
PRIVILEGES = r"""
select 'schema', nspname, nspowner::regrole::text, coalesce(nspacl::text, '')
from pg_namespace where nspname !~ '^(pg_|information_schema)'
union all
select 'relation', oid::regclass::text, relowner::regrole::text, coalesce(relacl::text, '')
from pg_class where relnamespace::regnamespace::text !~ '^(pg_|information_schema)'
union all
select 'function', oid::regprocedure::text, proowner::regrole::text, coalesce(proacl::text, '')
from pg_proc where pronamespace::regnamespace::text !~ '^(pg_|information_schema)'
union all
select 'default', defaclnamespace::regnamespace::text || ' ' || defaclobjtype::text,
    defaclrole::regrole::text, defaclacl::text
from pg_default_acl
union all
select 'member', roleid::regrole::text, member::regrole::text, admin_option::text
from pg_auth_members
where roleid::regrole::text like 'libcrm%' and member::regrole::text like 'libcrm%'
    and member::regrole::text not like 'libcrm\_test\_%'
order by 1, 2, 3
"""


def _as(url: str, user: str, password: str = "") -> str:
    """``url`` with another login (and password)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{user}:{password}@{host}" if password else f"{user}@{host}"
    if parts.port:
        netloc += f":{parts.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def _psql() -> str:
    found = shutil.which("psql") or (localdb.find_bindir() or Path("/nonexistent")) / "psql"
    if not Path(found).is_file():
        pytest.skip("psql is not installed: deploy/init-warehouse.sql is a psql script")
    return str(found)


@contextlib.contextmanager
def _member_of(group: str, admin_url: str, database: str):
    """A connection to ``database`` as a new login that is a member of ``group``; the login is
    dropped afterwards."""
    name = f"libcrm_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("create role {} login in role {}").format(
                sql.Identifier(name), sql.Identifier(group)
            )
        )
    try:
        with psycopg.connect(_as(f"{admin_url.rpartition('/')[0]}/{database}", name)) as conn:
            yield conn
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("drop role {}").format(sql.Identifier(name)))


@pytest.fixture
def deployed(admin_url):
    """A new database prepared by deploy/init-warehouse.sql; yields the pipeline's URL."""
    psql = _psql()
    name = f"libcrm_test_{uuid.uuid4().hex[:10]}"
    password = secrets.token_hex(16)
    with psycopg.connect(admin_url, autocommit=True) as lock:
        lock.execute("select pg_advisory_lock(%s)", [LOGIN_LOCK])
        existed = lock.execute(
            "select exists (select from pg_roles where rolname = %s)", [PIPELINE_LOGIN]
        ).fetchone()[0]
        lock.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
        admin_db_url = f"{admin_url.rpartition('/')[0]}/{name}"
        try:
            # As docs/deploy.md, "Use an existing warehouse", step 1.
            done = subprocess.run(
                [psql, "--no-psqlrc", "--quiet", admin_db_url, "--set", f"dbname={name}"]
                + ["--set", f"pipeline_password={password}", "--file", str(INIT_SQL)],
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, done.stderr
            yield {"url": _as(admin_db_url, PIPELINE_LOGIN, password), "name": name}
        finally:
            lock.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))
            if not existed:
                lock.execute(sql.SQL("drop role {}").format(sql.Identifier(PIPELINE_LOGIN)))
            lock.execute("select pg_advisory_unlock(%s)", [LOGIN_LOCK])


def test_the_pipeline_login_is_no_superuser_and_owns_the_database(deployed):
    with psycopg.connect(deployed["url"]) as conn:
        superuser, owner = conn.execute(
            "select rolsuper, pg_get_userbyid(datdba) = current_user from pg_roles, pg_database"
            " where rolname = current_user and datname = current_database()"
        ).fetchone()
    assert (superuser, owner) == (False, True)


def test_the_pipeline_login_bootstraps_twice_and_the_second_run_changes_nothing(deployed):
    db.bootstrap(deployed["url"])
    with psycopg.connect(deployed["url"]) as conn:
        before = conn.execute(PRIVILEGES).fetchall()
    db.bootstrap(deployed["url"])
    with psycopg.connect(deployed["url"]) as conn:
        assert conn.execute(PRIVILEGES).fetchall() == before
        owner = conn.execute(
            "select proowner::regrole::text from pg_proc where oid = 'portal.client_of'::regproc"
        ).fetchone()[0]
    assert owner == "libcrm_transformer"


def test_after_the_pipelines_bootstrap_every_role_reaches_what_it_should(admin_url, deployed):
    url = deployed["url"]
    db.bootstrap(url)
    with psycopg.connect(url) as conn:  # the pipeline: dbt builds a mart, api-token, account
        conn.execute("create table marts.sample as select 1 as n")
        conn.commit()
        token = tokens.issue(conn, "opac")
        accounts.create_account(conn, "deploy.check", "admin", secrets.token_hex(8), "test")

    with _member_of("libcrm_workspace", admin_url, deployed["name"]) as conn:
        conn.execute("set role libcrm_workspace")  # as the workspace's pool does
        assert conn.execute("select n from marts.sample").fetchall() == [(1,)]
        usernames = conn.execute("select username from workspace.accounts").fetchall()
        assert usernames == [("deploy.check",)]
        with pytest.raises(errors.InsufficientPrivilege, match="only outreach exports"):
            conn.execute("select * from workspace.campaign_contacts(1, 'deploy.check', 'x')")
        conn.rollback()
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("select count(*) from raw.patrons")

    with _member_of("libcrm_portal", admin_url, deployed["name"]) as conn:
        assert tokens.client_of(conn, token) == "opac"
        with pytest.raises(errors.InsufficientPrivilege):
            conn.execute("select count(*) from portal.api_tokens")

    with _member_of("libcrm_analyst", admin_url, deployed["name"]) as conn:
        assert conn.execute("select n from marts.sample").fetchall() == [(1,)]


def test_init_warehouse_creates_every_role_the_schema_names():
    """The pipeline's login cannot create roles: each one the schema grants to comes first."""
    schema_roles = {
        role
        for script in (ROOT / "libcrm" / "schema").glob("*.sql")
        for role in re.findall(r"\blibcrm_[a-z]+\b", script.read_text())
    }
    created = set(re.findall(r"\blibcrm_[a-z]+\b", INIT_SQL.read_text()))
    assert schema_roles - created == set()
