"""Workspace accounts: argon2 password hashes, sessions, the sign-in rate limit, the audit log.

Everything lives in the warehouse's ``workspace`` schema (libcrm/schema/60_workspace.sql), so
several workspace processes share accounts, sessions and the rate limit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

ROLES = ("librarian", "outreach", "admin")
# What each role may do. Only outreach exports contact lists (the SQL function
# workspace.campaign_contacts checks the same); only admin manages accounts.
PERMISSIONS = {
    "librarian": frozenset({"read"}),
    "outreach": frozenset({"read", "export"}),
    "admin": frozenset({"read", "accounts"}),
}
MIN_PASSWORD_LENGTH = 12
# A session ends after this long without a request, and in any case after SESSION_LIFETIME.
SESSION_IDLE = timedelta(hours=2)
SESSION_LIFETIME = timedelta(hours=12)
# Failed sign-ins counted over this window: more than FAILURES_PER_USER for one user name, or
# FAILURES_PER_CLIENT from one address, and sign-in is refused until the window has passed.
FAILURE_WINDOW = timedelta(minutes=15)
FAILURES_PER_USER = 5
FAILURES_PER_CLIENT = 20

# argon2id with the library's defaults (RFC 9106's second recommended set).
_hasher = PasswordHasher()
# A hash to verify against when the user name is unknown, so the answer takes as long.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class AccountError(ValueError):
    """An account cannot be created or changed as asked; the message says why."""


@dataclass(frozen=True)
class Account:
    """A signed-in workspace user."""

    account_id: int
    username: str
    display_name: str
    role: str

    def may(self, permission: str) -> bool:
        """True when this account's role grants ``permission`` (read, export, accounts)."""
        return permission in PERMISSIONS[self.role]


@dataclass(frozen=True)
class Session:
    """A live session: the account and the token every form must send back."""

    account: Account
    csrf_token: str


def new_password() -> str:
    """A random password of 20 URL-safe characters."""
    return secrets.token_urlsafe(15)


def create_account(
    conn: psycopg.Connection,
    username: str,
    role: str,
    password: str,
    created_by: str,
    display_name: str | None = None,
) -> int:
    """Create an account and audit it; return its id.

    Raises
    ------
    AccountError
        The role is unknown, the password too short, or the user name taken or malformed.
    """
    if role not in ROLES:
        raise AccountError(f"role {role!r} is not one of {', '.join(ROLES)}")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    try:
        with conn.transaction():
            account_id = conn.execute(
                "insert into workspace.accounts"
                " (username, display_name, role, password_hash, created_by)"
                " values (%s, %s, %s, %s, %s) returning account_id",
                [username, display_name or username, role, _hasher.hash(password), created_by],
            ).fetchone()[0]
    except psycopg.errors.UniqueViolation:
        raise AccountError(f"the user name {username!r} is taken") from None
    except psycopg.errors.CheckViolation:
        raise AccountError(
            f"the user name {username!r} must be 2-64 of a-z, 0-9, '.', '_' or '-'"
        ) from None
    audit(conn, created_by, "admin", "create_account", detail={"username": username, "role": role})
    return account_id


def set_password(conn: psycopg.Connection, username: str, password: str, by: str) -> None:
    """Replace an account's password and end its sessions."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    changed = conn.execute(
        "update workspace.accounts set password_hash = %s, password_changed_at = now()"
        " where username = %s returning account_id",
        [_hasher.hash(password), username],
    ).fetchone()
    if changed is None:
        raise AccountError(f"there is no account {username!r}")
    conn.execute("delete from workspace.sessions where account_id = %s", [changed[0]])
    audit(conn, by, "admin", "set_password", detail={"username": username})


def set_disabled(conn: psycopg.Connection, username: str, disabled: bool, by: str) -> None:
    """Disable (ending its sessions) or re-enable an account."""
    changed = conn.execute(
        "update workspace.accounts set disabled = %s where username = %s returning account_id",
        [disabled, username],
    ).fetchone()
    if changed is None:
        raise AccountError(f"there is no account {username!r}")
    conn.execute("delete from workspace.sessions where account_id = %s", [changed[0]])
    action = "disable_account" if disabled else "enable_account"
    audit(conn, by, "admin", action, detail={"username": username})


def list_accounts(conn: psycopg.Connection) -> list[dict]:
    """Every account, without its hash."""
    rows = conn.execute(
        "select username, display_name, role, disabled, created_at, created_by"
        " from workspace.accounts order by username"
    )
    names = [column.name for column in rows.description]
    return [dict(zip(names, row, strict=True)) for row in rows]


def sign_in_refused(conn: psycopg.Connection, username: str, client: str) -> bool:
    """True when too many sign-ins failed lately for this user name or from this client."""
    by_user, by_client = conn.execute(
        "select count(*) filter (where username = %s), count(*) filter (where client = %s)"
        " from workspace.login_attempts"
        " where not succeeded and attempted_at > now() - %s",
        [username, client, FAILURE_WINDOW],
    ).fetchone()
    return by_user >= FAILURES_PER_USER or by_client >= FAILURES_PER_CLIENT


def sign_in(conn: psycopg.Connection, username: str, password: str, client: str) -> str | None:
    """Check a password and open a session; return the session's cookie token, or None.

    Every attempt is recorded for the rate limit; callers check :func:`sign_in_refused` first.
    """
    row = conn.execute(
        "select account_id, password_hash, disabled, role"
        " from workspace.accounts where username = %s",
        [username],
    ).fetchone()
    stored = row[1] if row else _DUMMY_HASH
    try:
        ok = _hasher.verify(stored, password) and row is not None and not row[2]
    except (VerificationError, InvalidHashError):
        ok = False
    conn.execute(
        "insert into workspace.login_attempts (username, client, succeeded) values (%s, %s, %s)",
        [username, client, ok],
    )
    if not ok:
        return None
    if _hasher.check_needs_rehash(stored):
        conn.execute(
            "update workspace.accounts set password_hash = %s where account_id = %s",
            [_hasher.hash(password), row[0]],
        )
    token = secrets.token_urlsafe(32)
    conn.execute(
        "insert into workspace.sessions (token_hash, account_id, csrf_token, expires_at)"
        " values (%s, %s, %s, now() + %s)",
        [_token_hash(token), row[0], secrets.token_urlsafe(32), SESSION_LIFETIME],
    )
    audit(conn, username, row[3], "sign_in", detail={"client": client})
    return token


def session(conn: psycopg.Connection, token: str | None) -> Session | None:
    """The live session of a cookie token (touching it), or None when absent or expired."""
    if not token:
        return None
    row = conn.execute(
        "update workspace.sessions s set last_seen_at = now()"
        " from workspace.accounts a"
        " where s.token_hash = %s and a.account_id = s.account_id and not a.disabled"
        "   and s.expires_at > now() and s.last_seen_at > now() - %s"
        " returning a.account_id, a.username, a.display_name, a.role, s.csrf_token",
        [_token_hash(token), SESSION_IDLE],
    ).fetchone()
    if row is None:
        return None
    return Session(Account(*row[:4]), row[4])


def sign_out(conn: psycopg.Connection, token: str | None) -> None:
    """End the session of a cookie token (nothing when there is none)."""
    if token:
        conn.execute("delete from workspace.sessions where token_hash = %s", [_token_hash(token)])


def audit(
    conn: psycopg.Connection,
    username: str,
    role: str,
    action: str,
    reason: str | None = None,
    detail: dict | None = None,
    row_count: int | None = None,
) -> None:
    """Write one row to the audit log."""
    conn.execute(
        "insert into workspace.audit_log (username, role, action, reason, detail, row_count)"
        " values (%s, %s, %s, %s, %s, %s)",
        [username, role, action, reason, json.dumps(detail or {}, default=str), row_count],
    )


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
