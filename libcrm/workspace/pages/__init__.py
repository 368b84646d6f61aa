"""The workspace's pages, one module each; :data:`ROUTERS` lists them for the app."""

from libcrm.workspace.pages import (
    admin,
    audiences,
    campaigns,
    events,
    leaderboards,
    leaders,
    overview,
    readers,
    recommendations,
    segments,
)

ROUTERS = [
    overview.router,
    segments.router,
    leaders.router,
    leaderboards.router,
    events.router,
    recommendations.router,
    readers.router,
    audiences.router,
    campaigns.router,
    admin.router,
]
