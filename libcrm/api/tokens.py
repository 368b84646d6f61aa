"""Portal API tokens: one per client, shown once, stored only as a SHA-256 hash.

A token is 256 random bits (``secrets.token_urlsafe``), so a fast hash cannot be reversed
and lets each request be checked with one index lookup; a slow password hash (argon2) would
only add latency here.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg

CLIENT = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
PREFIX = "lcrm_"


class TokenError(ValueError):
    """A client name is unusable or unknown; the message says which and what to do."""


@dataclass(frozen=True)
class Client:
    client: str
    created_at: datetime
    revoked_at: datetime | None


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(conn: psycopg.Connection, client: str) -> str:
    """A new token for ``client`` (replacing its previous one); return it, to show once."""
    if not CLIENT.fullmatch(client):
        raise TokenError(
            f"client name {client!r} is not usable: use 1-63 lower-case letters, digits, "
            "'.', '_' or '-', starting with a letter or digit (e.g. --client portal)"
        )
    token = PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "insert into portal.api_tokens (client, token_hash) values (%s, %s)"
        " on conflict (client) do update set token_hash = excluded.token_hash,"
        " created_at = now(), revoked_at = null",
        [client, digest(token)],
    )
    conn.commit()
    return token


def revoke(conn: psycopg.Connection, client: str) -> None:
    """Refuse ``client``'s token from now on."""
    found = conn.execute(
        "update portal.api_tokens set revoked_at = now() where client = %s and revoked_at is null",
        [client],
    ).rowcount
    conn.commit()
    if not found:
        raise TokenError(
            f"no client {client!r} with a live token: see python -m libcrm api-token --list"
        )


def clients(conn: psycopg.Connection) -> list[Client]:
    """Every client, live or revoked, by name."""
    rows = conn.execute(
        "select client, created_at, revoked_at from portal.api_tokens order by client"
    ).fetchall()
    return [Client(*row) for row in rows]


# The client of a live token's hash, or null: the API's role may not read portal.api_tokens,
# only ask this function (libcrm/schema/30_portal.sql).
CLIENT_OF = "select portal.client_of(%s)"


def client_of(conn: psycopg.Connection, token: str) -> str | None:
    """The client a live ``token`` belongs to, else None."""
    return conn.execute(CLIENT_OF, [digest(token)]).fetchone()[0]
