"""Keyed pseudonyms: the ``user_key`` every model past the raw layer uses instead of a patron id,
and the check that a key is the one the warehouse's pseudonyms were made with."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import psycopg
from psycopg import sql

from libcrm.config import ConfigError

# 128 bits: collisions are negligible for any library, and keys stay short in indexes.
USER_KEY_HEX_CHARS = 32
# What the fingerprint of a key is the HMAC of; changing it would make every warehouse refuse.
FINGERPRINT_LABEL = b"libcrm pseudonym key fingerprint"
# Writers of user keys hold this advisory lock shared; rotate-key holds it exclusively.
KEY_LOCK = "libcrm:pseudonym-key"
ENVIRONMENT = "LIBCRM_PSEUDONYM_KEY / LIBCRM_PSEUDONYM_KEY_FILE"
# Created by the bootstrap; a warehouse from before it gets the table at first use.
FINGERPRINT_TABLE = Path(__file__).with_name("schema") / "15_key_fingerprint.sql"


def user_key(secret: bytes, patron_id: str) -> str:
    """Return the pseudonym of a patron: HMAC-SHA-256 of the patron id under the secret.

    Without the secret the pseudonym cannot be recomputed from a guessed patron id, which an
    unkeyed hash would allow.
    """
    digest = hmac.new(secret, patron_id.encode(), hashlib.sha256).hexdigest()
    return digest[:USER_KEY_HEX_CHARS]


def fingerprint(secret: bytes) -> str:
    """Return what identifies a key without revealing it: HMAC-SHA-256 of a fixed label."""
    return hmac.new(secret, FINGERPRINT_LABEL, hashlib.sha256).hexdigest()


def lock_key_exclusively(conn: psycopg.Connection) -> None:
    """Wait until no writer of user keys is running, and keep new ones out until commit."""
    conn.execute("select pg_advisory_xact_lock(hashtext(%s))", [KEY_LOCK])


def stored_pseudonyms(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """Every (patron_id, user_key) pair the loader has written."""
    tables = conn.execute(
        """
        select table_schema, table_name from information_schema.columns
        where table_schema in ('raw', 'identity') and column_name in ('patron_id', 'user_key')
        group by table_schema, table_name having count(*) = 2
        """
    ).fetchall()
    pairs: set[tuple[str, str]] = set()
    for schema, table in tables:
        query = sql.SQL(
            "select distinct patron_id, user_key from {} "
            "where patron_id is not null and user_key is not null"
        ).format(sql.Identifier(schema, table))
        pairs.update(conn.execute(query).fetchall())
    return pairs


def _wrong_key(origin: str, why: str) -> ConfigError:
    return ConfigError(
        f"the pseudonym key from {origin} is not the key this warehouse's user keys were made "
        f"with ({why}); nothing was written. Use the key the warehouse was built with; to move "
        "to a new key, run `python -m libcrm rotate-key --old-key-file OLD --new-key-file NEW`"
    )


def verify_key(conn: psycopg.Connection, secret: bytes, origin: str = ENVIRONMENT) -> None:
    """Refuse a key that is not the warehouse's, before anything is written with it.

    Call it first in the transaction that writes user keys: it holds the key lock shared until
    that transaction ends, so rotate-key cannot change the key half-way. The key is compared
    with the fingerprint in ``identity.key_fingerprint``. A warehouse without one (built before
    fingerprints were kept) has its key recorded at first use, once every stored pseudonym is
    found to be made with it (none stored: the first key used is the warehouse's).

    Raises
    ------
    ConfigError
        When the key is not the warehouse's; the message names ``origin`` and the fix.
    """
    conn.execute("select pg_advisory_xact_lock_shared(hashtext(%s))", [KEY_LOCK])
    if conn.execute("select to_regclass('identity.key_fingerprint')").fetchone()[0] is None:
        conn.execute(FINGERPRINT_TABLE.read_text())
    recorded = conn.execute("select fingerprint from identity.key_fingerprint").fetchone()
    if recorded is None:
        pairs = stored_pseudonyms(conn)
        wrong = sum(user_key(secret, patron_id) != key for patron_id, key in pairs)
        if wrong:
            raise _wrong_key(origin, f"{wrong} of {len(pairs)} stored pseudonyms differ")
        conn.execute(
            "insert into identity.key_fingerprint (fingerprint) values (%s) on conflict do nothing",
            [fingerprint(secret)],
        )
        recorded = conn.execute("select fingerprint from identity.key_fingerprint").fetchone()
    if not hmac.compare_digest(recorded[0], fingerprint(secret)):
        raise _wrong_key(origin, "its fingerprint differs from the one the warehouse recorded")


def record_key(conn: psycopg.Connection, secret: bytes) -> None:
    """Make ``secret`` the warehouse's key (rotate-key, holding the key lock exclusively)."""
    conn.execute(
        "insert into identity.key_fingerprint (fingerprint) values (%s) "
        "on conflict (singleton) do update set fingerprint = excluded.fingerprint, "
        "recorded_at = now()",
        [fingerprint(secret)],
    )
