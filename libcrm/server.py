"""``python -m libcrm serve``: the librarians' workspace and the portal API under
``/api/v1``, in one uvicorn server, each with its own connection pool and database role.

The API is routed beside the workspace, not inside it: its requests skip the workspace's
sign-in, language and page middleware, and the workspace's pages are routed as before.
"""

from __future__ import annotations

from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.routing import Mount

from libcrm import config
from libcrm.api import app as api
from libcrm.workspace.app import create_app as create_workspace


def create_app(database_url: str | None = None) -> Starlette:
    """The workspace and the portal API on a warehouse (``LIBCRM_DATABASE_URL`` by default)."""
    url = database_url or config.database_url()
    workspace = create_workspace(url)
    portal = api.create_api()

    # Mounted applications' own lifespans are not run: the server runs both.
    @asynccontextmanager
    async def lifespan(_server: Starlette):
        async with workspace.router.lifespan_context(workspace), api.pool(url) as connections:
            portal.state.pool = connections
            yield

    return Starlette(routes=[Mount(api.PREFIX, portal), Mount("/", workspace)], lifespan=lifespan)
