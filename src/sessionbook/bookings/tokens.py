"""Booking tokens: 256 random bits for the customer, only their SHA-256 hash for us."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

TOKEN_BYTES = 32
TOKEN_LENGTH = 43  # URL-safe base64 of 32 bytes, without padding
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    """A fresh token: the only key a customer has to their booking."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def is_well_formed(token: str) -> bool:
    """Cheap shape check, so garbage never reaches the database."""
    return bool(_TOKEN_SHAPE.fullmatch(token))


def hash_token(token: str) -> str:
    """Hex SHA-256 of the token: what the database stores and indexes."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def hashes_match(stored_hash: str, token: str) -> bool:
    """Constant-time comparison of a stored hash with a presented token."""
    return hmac.compare_digest(stored_hash.encode("ascii"), hash_token(token).encode("ascii"))
