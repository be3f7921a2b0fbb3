"""Admin sign-in: the argon2 password check, the signed session and known-device cookies.

The session cookie holds `{exp, csrf, auth, pw, sid}`, signed and timestamped by itsdangerous
with SESSION_SECRET; no cookie older than SESSION_SECONDS is accepted whatever its `exp` says.
`sid` is the secret of the session's row on the server (`admin.session_store`), which only
keeps its SHA-256: the signature proves we wrote the cookie, the row that it was not signed out
or revoked since. `pw` is a fingerprint of the configured password hash: rotating
ADMIN_PASSWORD_HASH signs everyone out, as rotating SESSION_SECRET does.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

SESSION_COOKIE = "sb_admin"
SESSION_SECONDS = 8 * 60 * 60
ANONYMOUS_SECONDS = 30 * 60  # a login form left open longer asks to be reloaded
DEVICE_COOKIE = "sb_admin_device"
DEVICE_SECONDS = 365 * 24 * 60 * 60
# There is one admin account; its name keys the account-wide sign-in backoff.
ADMIN_ACCOUNT = "admin"

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    """An argon2id hash with the library's current recommended parameters."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """Constant-time by construction; a malformed hash simply never matches."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class AdminSession:
    """A browser's admin session; `authenticated` is false before the password was given."""

    csrf: str
    expires: int
    authenticated: bool
    password_fingerprint: str
    # The secret naming the server-side row; only a signed-in session has one.
    secret: str | None = None

    @classmethod
    def anonymous(cls, password_fingerprint: str, now: float | None = None) -> AdminSession:
        return cls(
            csrf=secrets.token_urlsafe(32),
            expires=int((now or time.time()) + ANONYMOUS_SECONDS),
            authenticated=False,
            password_fingerprint=password_fingerprint,
        )

    @classmethod
    def signed_in(
        cls, password_fingerprint: str, secret: str, now: float | None = None
    ) -> AdminSession:
        # A fresh CSRF token on sign-in: nothing learned before it is worth anything after.
        return cls(
            csrf=secrets.token_urlsafe(32),
            expires=int((now or time.time()) + SESSION_SECONDS),
            authenticated=True,
            password_fingerprint=password_fingerprint,
            secret=secret,
        )


class SessionSigner:
    """Serialises sessions into a cookie value and back, refusing anything not signed by us."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="sessionbook-admin-session")

    def dumps(self, session: AdminSession) -> str:
        payload = {
            "csrf": session.csrf,
            "exp": session.expires,
            "auth": session.authenticated,
            "pw": session.password_fingerprint,
        }
        if session.secret is not None:
            payload["sid"] = session.secret
        return self._serializer.dumps(payload)

    def loads(
        self, value: str | None, password_fingerprint: str, now: float | None = None
    ) -> AdminSession | None:
        """The session in this cookie, or None when it is forged, stale or for an old password."""
        if not value:
            return None
        try:
            payload = self._serializer.loads(value, max_age=SESSION_SECONDS)
            secret = payload.get("sid")
            session = AdminSession(
                csrf=str(payload["csrf"]),
                expires=int(payload["exp"]),
                # Signed in means a server-side session to check: no secret, no sign-in.
                authenticated=payload["auth"] is True and isinstance(secret, str),
                password_fingerprint=str(payload["pw"]),
                secret=secret if isinstance(secret, str) else None,
            )
        except (BadSignature, ValueError, KeyError, TypeError, AttributeError):
            # SignatureExpired is a BadSignature: a cookie past SESSION_SECONDS lands here too.
            return None
        if session.expires <= (now or time.time()):
            return None
        if not hmac.compare_digest(session.password_fingerprint, password_fingerprint):
            return None
        return session


class DeviceSigner:
    """The long-lived "known device" cookie a browser earns by signing in successfully.

    It proves only that this browser once gave the right password for `account`: the
    account-wide sign-in backoff does not apply to it (the per-address one still does), so a
    flood of guesses against the account cannot lock the coach out of their own devices.
    """

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="sessionbook-admin-device")

    def dumps(self, account: str) -> str:
        return self._serializer.dumps({"account": account, "device": secrets.token_urlsafe(16)})

    def recognises(self, value: str | None, account: str) -> bool:
        if not value:
            return False
        try:
            payload = self._serializer.loads(value, max_age=DEVICE_SECONDS)
            return hmac.compare_digest(str(payload["account"]), account)
        except (BadSignature, ValueError, KeyError, TypeError):
            return False
