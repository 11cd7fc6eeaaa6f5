"""Unguessable tokens for the confirm and unsubscribe links, and keyed hashes.

A token is 32 random bytes (256 bits, URL-safe base64); the store keeps only its
SHA-256, so a copy of the store can confirm or unsubscribe nobody. The client address
is kept only as an HMAC under the intake secret: enough to spot abuse from one
address, not enough to tell whose address it was.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def keyed_hash(secret: bytes, value: str) -> str:
    """HMAC-SHA256 of `value` under `secret`, hex."""
    return hmac.new(secret, value.encode("utf-8", "surrogateescape"), hashlib.sha256).hexdigest()


def looks_like_token(value: str) -> bool:
    """Cheap shape check before touching the store (43 URL-safe characters)."""
    return len(value) == 43 and all(c.isalnum() or c in "-_" for c in value)
