"""The workspace's pages, one module each; :data:`ROUTERS` lists them for the app."""

from libcrm.workspace.pages import admin, audiences, campaigns, overview

ROUTERS = [overview.router, admin.router, audiences.router, campaigns.router]
