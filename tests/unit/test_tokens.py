"""Booking tokens: 256 random bits, URL-safe, only their hash kept."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from sessionbook.bookings.tokens import hash_token, hashes_match, is_well_formed, new_token
from sessionbook.core.logs import redact_query_string, redact_text


def test_tokens_are_43_urlsafe_characters_and_unique() -> None:
    tokens = {new_token() for _ in range(1000)}

    assert len(tokens) == 1000
    assert all(len(token) == 43 and is_well_formed(token) for token in tokens)


def test_hash_is_sha256_hex() -> None:
    token = new_token()

    assert hash_token(token) == hashlib.sha256(token.encode()).hexdigest()
    assert hashes_match(hash_token(token), token)
    assert not hashes_match(hash_token(token), new_token())


@given(st.text(max_size=60))
def test_malformed_tokens_are_refused(text: str) -> None:
    if len(text) != 43 or any(not (c.isascii() and (c.isalnum() or c in "-_")) for c in text):
        assert not is_well_formed(text)


def test_query_redaction_keeps_other_parameters() -> None:
    token = new_token()

    cleaned = redact_query_string(f"token={token}&start=2026-12-01")

    assert token not in cleaned
    assert "start=2026-12-01" in cleaned
    assert token not in redact_text(f"GET /book?token={token} HTTP/1.1")
    assert token not in redact_text(f'{{"bookingToken": "{token}"}}')
