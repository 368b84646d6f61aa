"""The portal API application, mounted at ``/api/v1`` by libcrm.server.

Every request authenticates with ``Authorization: Bearer <token>`` (python -m libcrm
api-token) and runs on a pooled connection acting as ``libcrm_portal``: it reads ``portal``
and may only insert the impressions and dismissals it reports.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Annotated

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg.abc import Query as Statement
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from libcrm.api import errors, models, queries, tokens
from libcrm.workspace import i18n, vocabulary
from libcrm.workspace.reasons import worded

PREFIX = "/api/v1"
log = logging.getLogger(__name__)
bearer = HTTPBearer(auto_error=False, description="a token from python -m libcrm api-token")


async def _as_portal(conn: psycopg.AsyncConnection) -> None:
    """Pooled connections act as libcrm_portal; lookups by key need no plan compilation.

    They run in autocommit: every read is one statement (one snapshot, see queries) and every
    write one insert, so a transaction around them would only add two round trips."""
    await conn.execute("set role libcrm_portal")
    await conn.execute("set jit = off")
    await conn.execute("set statement_timeout = '5s'")


@asynccontextmanager
async def pool(
    url: str, *, min_size: int = 4, max_size: int = 8, timeout: float = 10
) -> AsyncIterator[AsyncConnectionPool]:
    """The API's connections to the warehouse (open while the server runs). The handlers
    are coroutines on one event loop: each request costs no thread hand-over.

    Parameters
    ----------
    url
        The warehouse.
    min_size, max_size
        Connections kept open, and the most the pool opens.
    timeout
        Seconds a request waits for a connection before it is answered 503.
    """
    async with AsyncConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        kwargs={"autocommit": True},
        configure=_as_portal,
        open=False,
        timeout=timeout,
    ) as connections:
        yield connections


async def connection(request: Request) -> AsyncIterator[psycopg.AsyncConnection]:
    async with request.app.state.pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.AsyncConnection, Depends(connection)]


async def _one(conn: psycopg.AsyncConnection, query: Statement, values=None):
    return await (await conn.execute(query, values)).fetchone()


async def _all(conn: psycopg.AsyncConnection, query: Statement, values=None):
    return await (await conn.execute(query, values)).fetchall()


def presented(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The bearer token sent, else 401 with the challenge RFC 6750 asks for; checked before a
    connection is taken, so requests without a token cannot hold the pool."""
    if credentials is None:
        raise HTTPException(
            401, "send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
        )
    return credentials.credentials


async def client(token: Annotated[str, Depends(presented)], conn: Connection) -> str:
    """The client of a live token, else 401."""
    (found,) = await _one(conn, tokens.CLIENT_OF, [tokens.digest(token)])
    if found is None:
        raise HTTPException(
            401,
            "the token is not valid or was revoked: ask for a new one (python -m libcrm api-token)",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return found


Client = Annotated[str, Depends(client)]
PatronId = Annotated[str, Path(pattern=models.IDENTIFIER, examples=["P000123"])]
ItemId = Annotated[str, Path(pattern=models.IDENTIFIER, examples=["I0000042"])]


async def _served(conn: psycopg.AsyncConnection) -> tuple:
    row = await _one(conn, queries.SERVED)
    if row is None:
        raise HTTPException(
            503, errors.UNPUBLISHED, {"Retry-After": str(errors.UNPUBLISHED_RETRY_AFTER)}
        )
    return row


async def publication(_client: Client, conn: Connection) -> models.Publication:
    """The night now served: its day, when it was published and the model versions."""
    night, at, version, activities, counts = await _served(conn)
    return models.Publication(
        generated_for=night,
        published_at=at,
        model_version=version,
        activity_model_version=activities,
        row_counts=counts,
    )


def _item(item_id, title, author, call_number, clc_class) -> models.Item:
    return models.Item(
        item_id=item_id, title=title, author=author, call_number=call_number, clc_class=clc_class
    )


def _event(lang: str, event_id, title, category, starts_at, ends_at, place) -> models.Event:
    with i18n.use(lang):
        name = vocabulary.label("event_category", category)
    return models.Event(
        event_id=event_id,
        title=title,
        category=category,
        category_name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        place=place,
    )


def _reason(code: str, params: dict, lang: str) -> models.Reason:
    """The reason as published, worded in ``lang``; its text null when this version cannot
    word it, so one odd reason does not cost the reader the whole list."""
    try:
        text = worded(code, params, lang)
    except (KeyError, ValueError) as missing:
        log.warning("portal API: reason %s %s cannot be worded (%r)", code, params, missing)
        text = None
    return models.Reason(code=code, params=params, text=text)


async def recommendations(
    _client: Client,
    conn: Connection,
    patron_id: PatronId,
    kind: Annotated[models.Kind, Query(description="books or events")] = "books",
    lang: Annotated[models.Language, Query(description="language of the reasons")] = "zh",
) -> models.Recommendations:
    """A patron's recommendations of the served night, best first, with reasons in ``lang``."""
    rows = await _all(
        conn, queries.BOOKS if kind == "books" else queries.EVENTS, {"patron": patron_id}
    )
    night = None if rows else await _served(conn)  # rows carry their night
    if not rows and not (await _one(conn, queries.KNOWN_PATRON, {"patron": patron_id}))[0]:
        raise HTTPException(404, f"no recommendations were published for patron {patron_id}")
    listed = []
    for rank, score, code, params, _night, _version, *target in rows:
        listed.append(
            models.Recommendation(
                rank=rank,
                score=score,
                reason=_reason(code, params, lang),
                item=_item(*target) if kind == "books" else None,
                event=_event(lang, *target) if kind == "events" else None,
            )
        )
    version = rows[0][5] if rows else (night[2] if kind == "books" else night[3] or "")
    return models.Recommendations(
        patron_id=patron_id,
        kind=kind,
        lang=lang,
        generated_for=rows[0][4] if rows else night[0],
        model_version=version,
        recommendations=listed,
    )


async def similar(_client: Client, conn: Connection, item_id: ItemId) -> models.SimilarItems:
    """The works most like an item by the served night's model, most similar first."""
    night = await _served(conn)
    if not (await _one(conn, queries.KNOWN_ITEM, {"item": item_id}))[0]:
        raise HTTPException(404, f"no item {item_id} in the published catalogue")
    rows = await _all(conn, queries.SIMILAR, {"item": item_id})
    return models.SimilarItems(
        item_id=item_id,
        generated_for=night[0],
        model_version=rows[0][2] if rows else None,
        similar=[
            models.Similar(rank=rank, score=score, item=_item(*item))
            for rank, score, _version, *item in rows
        ],
    )


async def _known_patron(conn: psycopg.AsyncConnection, patron_id: str) -> None:
    await _served(conn)
    if not (await _one(conn, queries.KNOWN_PATRON, {"patron": patron_id}))[0]:
        raise HTTPException(404, f"no recommendations were published for patron {patron_id}")


async def impressions(
    _client: Client, conn: Connection, shown: models.Impression
) -> models.Received:
    """Record what the portal showed a patron (the uptake counts shown against not shown)."""
    await _known_patron(conn, shown.patron_id)
    await conn.execute(
        queries.IMPRESSIONS,
        {"patron": shown.patron_id, "kind": shown.kind, "ids": shown.ids, "at": shown.shown_at},
    )
    return models.Received(received=len(shown.ids))


async def dismissals(
    _client: Client, conn: Connection, dismissal: models.Dismissal
) -> models.Received:
    """Record that a patron is not interested: from the next night on it is never recommended
    to them again."""
    await _known_patron(conn, dismissal.patron_id)
    await conn.execute(
        queries.DISMISSAL,
        {
            "patron": dismissal.patron_id,
            "kind": dismissal.kind,
            "id": dismissal.id,
            "at": dismissal.dismissed_at,
        },
    )
    return models.Received(received=1)


HEADERS = [
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
]


class _Headers:
    """Adds :data:`HEADERS` to every response. Written as plain ASGI: Starlette's
    ``BaseHTTPMiddleware`` runs each request in a task of its own, a cost the API's latency
    budget does not need."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        async def with_headers(message):
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


def create_api() -> FastAPI:
    """The API application; its ``state.pool`` is set by the server that mounts it."""
    api = FastAPI(
        title="libcrm portal API",
        version="1",
        description="Recommendations for the library portal (README, Portal API).",
        docs_url=None,
        redoc_url=None,
    )
    found = errors.ERRORS | errors.NOT_FOUND
    api.add_api_route("/publication", publication, methods=["GET"], responses=errors.ERRORS)
    api.add_api_route(
        "/patrons/{patron_id}/recommendations",
        recommendations,
        methods=["GET"],
        responses=found,
    )
    api.add_api_route("/items/{item_id}/similar", similar, methods=["GET"], responses=found)
    for path, handler in (("/impressions", impressions), ("/dismissals", dismissals)):
        api.add_api_route(path, handler, methods=["POST"], status_code=202, responses=found)
    api.add_exception_handler(PoolTimeout, errors.busy)
    api.add_middleware(_Headers)
    return api
