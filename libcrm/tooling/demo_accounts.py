"""The demo's workspace account and portal API client: an admin whose password, and a
token, wait in 0600 files."""

from __future__ import annotations

import os
from pathlib import Path

from libcrm import config, db, settings
from libcrm.api import tokens
from libcrm.workspace import accounts

ADMIN = "admin"
PORTAL_CLIENT = "portal"


def password_file() -> Path:
    """Where the demo leaves the admin's password."""
    return config.state_dir() / "workspace_admin_password"


def ensure_admin(url: str) -> Path:
    """Create the demo's admin account once; keep its password in :func:`password_file`."""
    path = password_file()
    with db.connect(url) as conn:
        exists = conn.execute(
            "select 1 from workspace.accounts where username = %s", [ADMIN]
        ).fetchone()
        if exists and path.exists():
            return path
        password = accounts.new_password()
        if exists:
            accounts.set_password(conn, ADMIN, password, "make demo")
        else:
            accounts.create_account(conn, ADMIN, "admin", password, "make demo", "Demo admin")
    _secret(path, password)
    return path


def _secret(path: Path, value: str) -> None:
    """Write ``value`` to a file only its owner can read (mode 0600 from its creation)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(value + "\n")
    path.chmod(0o600)


def token_file() -> Path:
    """Where the demo leaves the portal API client's token."""
    return config.state_dir() / "portal_token"


def ensure_portal_token(url: str) -> Path:
    """Give the demo's portal client a token once; keep it in :func:`token_file`."""
    path = token_file()
    with db.connect(url) as conn:
        live = any(c.client == PORTAL_CLIENT and c.revoked_at is None for c in tokens.clients(conn))
        if live and path.exists():
            return path
        _secret(path, tokens.issue(conn, PORTAL_CLIENT))
    return path


def lines(url: str) -> list[str]:
    """The summary lines that tell how to open the workspace."""
    path = ensure_admin(url)
    token = ensure_portal_token(url)
    port = settings.load().workspace_port
    return [
        f"workspace: make serve, then open http://127.0.0.1:{port}/ and sign in as "
        f"{ADMIN!r} with the password in {path} (mode 0600)",
        f"portal API: http://127.0.0.1:{port}/api/v1/ with the token in {token} (mode 0600): "
        f'curl -H "Authorization: Bearer $(cat {token})" '
        f"http://127.0.0.1:{port}/api/v1/publication",
    ]
