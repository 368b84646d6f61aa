"""The portal API when things are not as they should be, on a real loopback server and a
real pool: every connection busy, and a published reason this version cannot word."""

from __future__ import annotations

import threading
import time
from contextlib import asynccontextmanager
from datetime import date

import httpx
import psycopg
import pytest
from psycopg.types.json import Jsonb
from starlette.applications import Starlette
from starlette.routing import Mount

from libcrm.api import app as api
from libcrm.api import tokens
from tests import workspace_support as ws

NIGHT = date(2026, 3, 18)
WAIT = 0.5  # seconds the small pool below lets a request wait for its connection


def _api_with_one_connection(url: str) -> Starlette:
    """The API alone, as libcrm.server mounts it, on a pool of one connection."""
    portal = api.create_api()

    @asynccontextmanager
    async def lifespan(_server: Starlette):
        async with api.pool(url, min_size=1, max_size=1, timeout=WAIT) as connections:
            portal.state.pool = connections
            yield

    return Starlette(routes=[Mount(api.PREFIX, portal)], lifespan=lifespan)


@pytest.fixture
def published(fresh_warehouse_url):
    """A warehouse with one published night: patron P1's books, with the reasons given."""
    url = fresh_warehouse_url
    with psycopg.connect(url) as conn:
        conn.execute(
            "insert into portal.publication values (%s, now(), 'books-v1', null, '{}')", [NIGHT]
        )
        conn.execute(
            "insert into portal.items (item_id, title, generated_for)"
            " select 'I' || n, 'Book ' || n, %s from generate_series(1, 4) as n",
            [NIGHT],
        )
        token = tokens.issue(conn, "portal-tests")
    return url, token


def _recommend(url: str, reasons: list[tuple[str, dict]]) -> None:
    with psycopg.connect(url) as conn:
        for rank, (code, params) in enumerate(reasons, start=1):
            conn.execute(
                "insert into portal.resource_recommendations values"
                " ('P1', %s, %s, 1.0 / %s, 'a sentence', %s, 'books-v1', %s, %s)",
                [rank, f"I{rank}", rank, NIGHT, code, Jsonb(params)],
            )


def test_a_request_that_gets_no_connection_in_time_is_503_with_retry_after(published):
    """One request holds the only connection (its statement waits on a lock): the next one is
    answered 503 in the API's error shape once the pool's timeout has passed, and the API
    serves again as soon as the connection is free."""
    url, token = published
    headers = {"Authorization": f"Bearer {token}"}
    with (
        ws.served(url, _api_with_one_connection) as base,
        psycopg.connect(url) as locker,
        psycopg.connect(url, autocommit=True) as watcher,
    ):
        locker.execute("lock table portal.publication in access exclusive mode")
        held = {}
        holder = threading.Thread(
            target=lambda: held.update(
                answer=httpx.get(f"{base}/api/v1/publication", headers=headers, timeout=30)
            )
        )
        holder.start()
        deadline = time.monotonic() + 10
        while not watcher.execute(
            "select exists (select from pg_stat_activity where datname = current_database()"
            " and wait_event_type = 'Lock')"
        ).fetchone()[0]:
            assert time.monotonic() < deadline, "the first request never took the connection"
            time.sleep(0.05)

        started = time.monotonic()
        busy = httpx.get(f"{base}/api/v1/publication", headers=headers, timeout=30)
        waited = time.monotonic() - started

        locker.rollback()
        holder.join(30)
        again = httpx.get(f"{base}/api/v1/publication", headers=headers, timeout=30)

    assert busy.status_code == 503, busy.text
    assert int(busy.headers["retry-after"]) > 0
    assert busy.headers["content-type"] == "application/json"
    assert set(busy.json()) == {"detail"} and "busy" in busy.json()["detail"]
    assert waited >= WAIT
    assert held["answer"].status_code == 200 and again.status_code == 200


def test_a_reason_this_version_cannot_word_is_served_with_null_text(published):
    """An unknown code, or a code without the parameter its sentence needs, leaves the
    recommendation in the list, its code and parameters as published and its text null."""
    url, token = published
    _recommend(
        url,
        [
            ("popular", {}),
            ("retired_code", {}),
            ("borrowed_similar", {}),
            ("attended_category", {"category": "lecture", "count": "many"}),
        ],
    )
    with ws.served(url, _api_with_one_connection) as base:
        answers = {
            lang: httpx.get(
                f"{base}/api/v1/patrons/P1/recommendations",
                params={"lang": lang},
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            for lang in ("en", "zh")
        }
    for lang, answer in answers.items():
        assert answer.status_code == 200, (lang, answer.text)
        reasons = [r["reason"] for r in answer.json()["recommendations"]]
        assert [r["code"] for r in reasons] == [
            "popular",
            "retired_code",
            "borrowed_similar",
            "attended_category",
        ]
        assert reasons[0]["text"] and [r["text"] for r in reasons[1:]] == [None, None, None]
    assert answers["en"].json()["recommendations"][0]["reason"]["text"] == (
        "among the books most borrowed lately"
    )
