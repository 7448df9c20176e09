"""Secret-link tokens (私密链接): 32 random bytes, URL-safe, stored only as their SHA-256.

Every private link (a registration, an answer to a technology need, a road-show application, a
competition entry, a deal to confirm, a mechanism follow-up) uses these, so a leaked database
holds no working link and every link has the same strength and shape (43 characters).
"""

from __future__ import annotations

import hashlib
import re
import secrets

TOKEN_BYTES = 32
TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # token_urlsafe(32)


def new_token() -> str:
    """A fresh random token for a private link."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """What is stored: the token's SHA-256 (hex). Looking a link up hashes what was sent."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def looks_like_token(token: str) -> bool:
    """A cheap shape check before any database look-up (wrong shapes are simply not found)."""
    return bool(TOKEN_SHAPE.match(token or ""))
