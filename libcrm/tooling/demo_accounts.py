"""The demo's workspace account: an admin whose password waits in a 0600 file."""

from __future__ import annotations

import os
from pathlib import Path

from libcrm import config, db, settings
from libcrm.workspace import accounts

ADMIN = "admin"


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
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as out:
        out.write(password + "\n")
    path.chmod(0o600)
    return path


def lines(url: str) -> list[str]:
    """The summary lines that tell how to open the workspace."""
    path = ensure_admin(url)
    port = settings.load().workspace_port
    return [
        f"workspace: make serve, then open http://127.0.0.1:{port}/ and sign in as "
        f"{ADMIN!r} with the password in {path} (mode 0600)",
    ]
