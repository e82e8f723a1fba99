"""Bearer tokens: 256 random bits, shown once, stored as a SHA-256 hash.

A token looks like ``ms_<43 url-safe characters>``. Its first characters (the prefix)
are kept in the clear so people can tell their tokens apart in listings. The store issues
tokens (so a server issues them for its clients), hence this lives below it.
"""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIX = "ms_"


def new_token() -> str:
    """A fresh random token (show it once, store only :func:`hash_token` of it)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """SHA-256 of a high-entropy token: enough, since tokens cannot be guessed."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def display_prefix(token: str) -> str:
    return token[:10]


__all__ = ["TOKEN_PREFIX", "display_prefix", "hash_token", "new_token"]
