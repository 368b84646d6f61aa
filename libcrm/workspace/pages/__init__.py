"""The workspace's pages, one module each; :data:`ROUTERS` lists them for the app."""

from libcrm.workspace.pages import admin, overview

ROUTERS = [overview.router, admin.router]
