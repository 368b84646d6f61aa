"""Keyed pseudonyms: the ``user_key`` every model past the raw layer uses instead of a patron id."""

from __future__ import annotations

import hashlib
import hmac

# 128 bits: collisions are negligible for any library, and keys stay short in indexes.
USER_KEY_HEX_CHARS = 32


def user_key(secret: bytes, patron_id: str) -> str:
    """Return the pseudonym of a patron: HMAC-SHA-256 of the patron id under the secret.

    Without the secret the pseudonym cannot be recomputed from a guessed patron id, which an
    unkeyed hash would allow.
    """
    digest = hmac.new(secret, patron_id.encode(), hashlib.sha256).hexdigest()
    return digest[:USER_KEY_HEX_CHARS]
