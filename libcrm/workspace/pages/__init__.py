"""The workspace's pages, one module each; :data:`ROUTERS` lists them for the app."""

from libcrm.workspace.pages import leaderboards, leaders, overview, segments

ROUTERS = [overview.router, segments.router, leaders.router, leaderboards.router]
