"""The API's error answers: what each status means (the OpenAPI document lists them), and the
``503`` of a request that got no connection from the pool in time."""

from __future__ import annotations

import logging

from fastapi import Request
from fastapi.responses import JSONResponse
from psycopg_pool import PoolTimeout

from libcrm.api import models

log = logging.getLogger(__name__)

# Seconds a client waits before it asks again: every connection was busy for the pool's whole
# timeout, so the queue needs a moment to drain, but the portal's reader is still waiting.
BUSY_RETRY_AFTER = 5
# Before the first night there is nothing to serve until the nightly run has published.
UNPUBLISHED_RETRY_AFTER = 3600
BUSY = "the API is busy (no database connection was free in time): try again shortly"
UNPUBLISHED = "no night has been published yet"

ERRORS = {
    401: {"model": models.Error, "description": "no token, or not a live one"},
    422: {"description": "a parameter or the body is not valid"},
    503: {
        "model": models.Error,
        "description": f"{UNPUBLISHED} (Retry-After: {UNPUBLISHED_RETRY_AFTER}),"
        " or every database connection stayed busy for the pool's timeout"
        f" (Retry-After: {BUSY_RETRY_AFTER})",
        "headers": {
            "Retry-After": {
                "description": "seconds to wait before asking again",
                "schema": {"type": "integer"},
            }
        },
    },
}
NOT_FOUND = {
    404: {"model": models.Error, "description": "no such patron or item in the served night"}
}


async def busy(request: Request, _timeout: PoolTimeout) -> JSONResponse:
    """``503`` with ``Retry-After``, in the shape of every other error: ``{"detail": ...}``."""
    log.warning(
        "portal API: no connection free in time for %s %s", request.method, request.url.path
    )
    return JSONResponse(
        {"detail": BUSY}, status_code=503, headers={"Retry-After": str(BUSY_RETRY_AFTER)}
    )
