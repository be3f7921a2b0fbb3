"""Webhook signatures as Airwallex makes them: hex HMAC-SHA256(secret, x-timestamp + raw body)."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from sessionbook.payments.airwallex.signature import sign, verify

SECRET = "whsec-unit"
BODY = b'{"id":"evt_1","name":"payment_intent.succeeded"}'
NOW_MS = 1_700_000_000_000


def test_signature_is_hmac_of_timestamp_then_body() -> None:
    expected = hmac.new(SECRET.encode(), b"1357872222592" + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, "1357872222592", BODY) == expected


def test_fresh_correct_signature_verifies() -> None:
    stamp = str(NOW_MS - 1000)
    assert verify(SECRET, stamp, sign(SECRET, stamp, BODY), BODY, now_ms=NOW_MS)
    assert verify(SECRET, stamp, sign(SECRET, stamp, BODY).upper(), BODY, now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("secret", "stamp", "body"),
    [
        ("another-secret", str(NOW_MS), BODY),
        (SECRET, str(NOW_MS), BODY + b" "),
        (SECRET, str(NOW_MS - 1), BODY),  # signed for a different timestamp
    ],
)
def test_any_change_breaks_the_signature(secret: str, stamp: str, body: bytes) -> None:
    signature = sign(SECRET, str(NOW_MS), BODY)
    assert not verify(secret, stamp, signature, body, now_ms=NOW_MS)


@pytest.mark.parametrize("offset_ms", [-300_001, 300_001])
def test_stale_or_future_timestamps_are_refused(offset_ms: int) -> None:
    stamp = str(NOW_MS + offset_ms)
    assert not verify(SECRET, stamp, sign(SECRET, stamp, BODY), BODY, now_ms=NOW_MS)


@pytest.mark.parametrize("offset_ms", [-300_000, 300_000])
def test_the_tolerance_edge_is_accepted(offset_ms: int) -> None:
    stamp = str(NOW_MS + offset_ms)
    assert verify(SECRET, stamp, sign(SECRET, stamp, BODY), BODY, now_ms=NOW_MS)


@pytest.mark.parametrize(
    ("stamp", "signature"),
    [(None, "ab"), (str(NOW_MS), None), ("", "ab"), ("12a4", "ab"), ("-5", "ab"), ("9" * 20, "ab")],
)
def test_missing_or_malformed_headers_are_refused(stamp: str | None, signature: str | None) -> None:
    assert not verify(SECRET, stamp, signature, BODY, now_ms=NOW_MS)


def test_non_ascii_signature_is_refused_not_crashing() -> None:
    stamp = str(NOW_MS)
    assert not verify(SECRET, stamp, "é" * 64, BODY, now_ms=NOW_MS)


def test_an_empty_secret_verifies_nothing() -> None:
    stamp = str(NOW_MS)
    assert not verify("", stamp, sign("", stamp, BODY), BODY, now_ms=NOW_MS)
