"""``python -m libcrm serve``: the librarians' workspace with the portal API mounted at
``/api/v1``, one uvicorn server, each with its own connection pool and database role."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from libcrm import config
from libcrm.api import app as api
from libcrm.workspace.app import create_app as create_workspace


def create_app(database_url: str | None = None) -> FastAPI:
    """The workspace and the portal API on a warehouse (``LIBCRM_DATABASE_URL`` by default)."""
    url = database_url or config.database_url()
    server = create_workspace(url)
    portal = api.create_api()
    workspace_lifespan = server.router.lifespan_context

    # A mounted application's own lifespan is not run: the server opens the API's pool.
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        async with workspace_lifespan(app):
            with api.pool(url) as connections:
                portal.state.pool = connections
                yield

    server.router.lifespan_context = lifespan
    server.mount(api.PREFIX, portal)
    return server
