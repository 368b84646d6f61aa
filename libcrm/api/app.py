"""The portal API application, mounted at ``/api/v1`` by libcrm.server.

Every request authenticates with ``Authorization: Bearer <token>`` (python -m libcrm
api-token) and runs on a pooled connection acting as ``libcrm_portal``: it reads ``portal``
and may only insert the impressions and dismissals it reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Annotated

import psycopg
from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from psycopg_pool import ConnectionPool

from libcrm.api import models, queries, tokens
from libcrm.workspace import i18n, vocabulary
from libcrm.workspace.reasons import worded

PREFIX = "/api/v1"
# A report from the future beyond clock skew is a mistake of the portal, not an impression.
CLOCK_SKEW = timedelta(minutes=5)
bearer = HTTPBearer(auto_error=False, description="a token from python -m libcrm api-token")
ERRORS = {
    401: {"description": "no token, or not a live one"},
    422: {"description": "a parameter or the body is not valid"},
    503: {"description": "no night has been published yet"},
}


def _as_portal(conn: psycopg.Connection) -> None:
    """Pooled connections act as libcrm_portal; lookups by key need no plan compilation."""
    conn.execute("set role libcrm_portal")
    conn.execute("set jit = off")
    conn.execute("set statement_timeout = '5s'")
    conn.commit()


@contextmanager
def pool(url: str) -> Iterator[ConnectionPool]:
    """The API's connections to the warehouse (open while the server runs)."""
    with ConnectionPool(
        url, min_size=2, max_size=8, configure=_as_portal, open=True, timeout=10
    ) as connections:
        yield connections


def connection(request: Request) -> Iterator[psycopg.Connection]:
    with request.app.state.pool.connection() as conn:
        yield conn


Connection = Annotated[psycopg.Connection, Depends(connection)]


def client(
    conn: Connection,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """The client of a live token, else 401 with the challenge RFC 6750 asks for."""
    if credentials is None:
        raise HTTPException(
            401, "send Authorization: Bearer <token>", {"WWW-Authenticate": "Bearer"}
        )
    name = tokens.client_of(conn, credentials.credentials)
    if name is None:
        raise HTTPException(
            401,
            "the token is not valid or was revoked: ask for a new one (python -m libcrm api-token)",
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    return name


Client = Annotated[str, Depends(client)]
PatronId = Annotated[str, Path(pattern=models.IDENTIFIER, examples=["P000123"])]
ItemId = Annotated[str, Path(pattern=models.IDENTIFIER, examples=["I0000042"])]


def _served(conn: psycopg.Connection) -> tuple:
    row = conn.execute(queries.SERVED).fetchone()
    if row is None:
        raise HTTPException(503, "no night has been published yet", {"Retry-After": "3600"})
    return row


def publication(conn: Connection, _client: Client) -> models.Publication:
    """The night now served: its day, when it was published and the model versions."""
    night, at, version, activities, counts = _served(conn)
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


def recommendations(
    conn: Connection,
    _client: Client,
    patron_id: PatronId,
    kind: Annotated[models.Kind, Query(description="books or events")] = "books",
    lang: Annotated[models.Language, Query(description="language of the reasons")] = "zh",
) -> models.Recommendations:
    """A patron's recommendations of the served night, best first, with reasons in ``lang``."""
    night = _served(conn)
    rows = conn.execute(
        queries.BOOKS if kind == "books" else queries.EVENTS, {"patron": patron_id}
    ).fetchall()
    if not rows and not conn.execute(queries.KNOWN_PATRON, {"patron": patron_id}).fetchone()[0]:
        raise HTTPException(404, f"no recommendations were published for patron {patron_id}")
    listed = []
    for rank, score, code, params, _night, _version, *target in rows:
        reason = models.Reason(code=code, params=params, text=worded(code, params, lang))
        listed.append(
            models.Recommendation(
                rank=rank,
                score=score,
                reason=reason,
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


def similar(conn: Connection, _client: Client, item_id: ItemId) -> models.SimilarItems:
    """The works most like an item by the served night's model, most similar first."""
    night = _served(conn)
    if not conn.execute(queries.KNOWN_ITEM, {"item": item_id}).fetchone()[0]:
        raise HTTPException(404, f"no item {item_id} in the published catalogue")
    rows = conn.execute(queries.SIMILAR, {"item": item_id}).fetchall()
    return models.SimilarItems(
        item_id=item_id,
        generated_for=night[0],
        model_version=rows[0][2] if rows else None,
        similar=[
            models.Similar(rank=rank, score=score, item=_item(*item))
            for rank, score, _version, *item in rows
        ],
    )


def _known_patron(conn: psycopg.Connection, patron_id: str) -> None:
    _served(conn)
    if not conn.execute(queries.KNOWN_PATRON, {"patron": patron_id}).fetchone()[0]:
        raise HTTPException(404, f"no recommendations were published for patron {patron_id}")


def _not_future(moment: datetime | None) -> None:
    if moment is not None and moment > datetime.now(UTC) + CLOCK_SKEW:
        raise HTTPException(
            422, f"{moment.isoformat()} is in the future: send the time it happened"
        )


def impressions(conn: Connection, _client: Client, shown: models.Impression) -> models.Received:
    """Record what the portal showed a patron (the uptake counts shown against not shown)."""
    _known_patron(conn, shown.patron_id)
    _not_future(shown.shown_at)
    conn.execute(
        queries.IMPRESSIONS,
        {"patron": shown.patron_id, "kind": shown.kind, "ids": shown.ids, "at": shown.shown_at},
    )
    return models.Received(received=len(shown.ids))


def dismissals(conn: Connection, _client: Client, dismissal: models.Dismissal) -> models.Received:
    """Record that a patron is not interested: from the next night on it is never recommended
    to them again."""
    _known_patron(conn, dismissal.patron_id)
    _not_future(dismissal.dismissed_at)
    conn.execute(
        queries.DISMISSAL,
        {
            "patron": dismissal.patron_id,
            "kind": dismissal.kind,
            "id": dismissal.id,
            "at": dismissal.dismissed_at,
        },
    )
    return models.Received(received=1)


def create_api() -> FastAPI:
    """The API application; its ``state.pool`` is set by the server that mounts it."""
    api = FastAPI(
        title="libcrm portal API",
        version="1",
        description="Recommendations for the library portal (README, Portal API).",
        docs_url=None,
        redoc_url=None,
    )
    found = {404: {"description": "no such patron or item in the served night"}}
    api.add_api_route("/publication", publication, methods=["GET"], responses=ERRORS)
    api.add_api_route(
        "/patrons/{patron_id}/recommendations",
        recommendations,
        methods=["GET"],
        responses=ERRORS | found,
    )
    api.add_api_route(
        "/items/{item_id}/similar", similar, methods=["GET"], responses=ERRORS | found
    )
    for path, handler in (("/impressions", impressions), ("/dismissals", dismissals)):
        api.add_api_route(
            path, handler, methods=["POST"], status_code=202, responses=ERRORS | found
        )
    return api
