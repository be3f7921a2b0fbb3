"""Errors of the scheduling domain beyond the generic ones in `core.errors`."""

from __future__ import annotations

from sessionbook.core.errors import ServiceError


class SessionNotFound(ServiceError):
    """A sessionId that is not one of this booking's sessions (unknown, or another booking's)."""

    status_code = 404
    code = "session_not_found"
    default_message = "This booking has no session with this id."
