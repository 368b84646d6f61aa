"""Shared fixtures: a real PostgreSQL, and a throw-away database per test module."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from libcrm import db
from libcrm.tooling import localdb

DATA = Path(__file__).parent / "data"
LANDING = DATA / "landing"
TEST_KEY = "test-pseudonym-key-0123456789abcdef"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Tests never touch a developer's Airflow home or Data Docs: each session gets its own.
SESSION_DIR = Path(tempfile.mkdtemp(prefix="libcrm-tests-"))
os.environ["AIRFLOW_HOME"] = str(SESSION_DIR / "airflow")
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["LIBCRM_DATA_DOCS_DIR"] = str(SESSION_DIR / "data_docs")
os.environ["LIBCRM_REPORTS_DIR"] = str(SESSION_DIR / "reports")
os.environ["OPENBLAS_NUM_THREADS"] = "1"


def _answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@pytest.fixture(scope="session")
def admin_url() -> str:
    """A superuser URL: LIBCRM_TEST_ADMIN_URL, else the server on 5432, else the embedded one."""
    url = os.environ.get("LIBCRM_TEST_ADMIN_URL")
    if url:
        return url
    if _answers(DEFAULT_ADMIN_URL):
        return DEFAULT_ADMIN_URL
    return localdb.ensure_embedded()


def _with_database(url: str, name: str) -> str:
    base, _, _ = url.rpartition("/")
    return f"{base}/{name}"


@contextlib.contextmanager
def _new_warehouse(admin_url: str):
    name = f"libcrm_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    url = _with_database(admin_url, name)
    db.bootstrap(url)
    yield url
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("drop database {} with (force)").format(sql.Identifier(name)))


@pytest.fixture(scope="module")
def warehouse_url(admin_url: str):
    """A new, bootstrapped database for this module, dropped afterwards."""
    with _new_warehouse(admin_url) as url:
        yield url


@pytest.fixture
def fresh_warehouse_url(admin_url: str):
    """A new, bootstrapped database for one test, dropped afterwards."""
    with _new_warehouse(admin_url) as url:
        yield url


@pytest.fixture(autouse=True, scope="session")
def pseudonym_key():
    """A fixed key for the whole session, so tests never depend on a developer's key file."""
    saved = os.environ.get("LIBCRM_PSEUDONYM_KEY")
    os.environ["LIBCRM_PSEUDONYM_KEY"] = TEST_KEY
    yield TEST_KEY.encode()
    if saved is None:
        os.environ.pop("LIBCRM_PSEUDONYM_KEY")
    else:
        os.environ["LIBCRM_PSEUDONYM_KEY"] = saved


@pytest.fixture(scope="session")
def library_warehouse(admin_url, tmp_path_factory, pseudonym_key):
    """A small simulated library after two nightly loads and dbt builds, shared by the
    workspace's tests (which may add accounts, audiences and campaigns, never change marts)."""
    from tests import workspace_support

    with _new_warehouse(admin_url) as url:
        truth = workspace_support.build_library(url, tmp_path_factory.mktemp("workspace"))
        workspace_support.quality_row(url)
        yield {"url": url, "truth": truth}


@pytest.fixture(scope="session")
def workspace(library_warehouse):
    """The workspace served on loopback from the shared library warehouse; yields its URL."""
    from tests import workspace_support

    with workspace_support.served(library_warehouse["url"]) as base:
        yield base


@pytest.fixture(scope="session")
def simulated_year(admin_url, tmp_path_factory, pseudonym_key):
    """A small library simulated from September 2025 into the 2026 autumn term, loaded once
    and shared by the calendar and leaver tests (which build nights on it in date order)."""
    from tests import year_support

    with _new_warehouse(admin_url) as url:
        yield year_support.SimulatedYear(
            url, tmp_path_factory.mktemp("year"), year_support.autumn_flag_day()
        )
