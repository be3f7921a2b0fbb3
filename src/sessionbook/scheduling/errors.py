"""Errors of the scheduling domain beyond the generic ones in `core.errors`."""

from __future__ import annotations

from sessionbook.core.errors import ServiceError


class SessionNotFound(ServiceError):
    """A sessionId that is not one of this booking's sessions (unknown, or another booking's)."""

    status_code = 404
    code = "session_not_found"
    default_message = "This booking has no session with this id."


class SlotUnavailable(ServiceError):
    status_code = 409
    code = "slot_unavailable"
    default_message = (
        "That time is no longer available. Please pick another time; your booking is kept."
    )
