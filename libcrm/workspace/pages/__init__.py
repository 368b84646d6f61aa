"""The workspace's pages, one module each; :data:`ROUTERS` lists them for the app."""

from libcrm.workspace.pages import admin, events, overview, readers, recommendations

ROUTERS = [overview.router, events.router, recommendations.router, readers.router, admin.router]
