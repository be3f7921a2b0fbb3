"""Typed failures of the calendar provider, so callers branch on meaning rather than HTTP codes."""

from __future__ import annotations


class CalendarError(Exception):
    """Any failure talking to the calendar provider.

    `code` is the provider's error code when it gave one (Cal.com puts the exception class name
    there, e.g. "BadRequestException"), else a short local code such as "network".
    `status_code` is the HTTP status, or 0 when no response arrived.
    """

    def __init__(self, message: str, *, code: str = "calendar_error", status_code: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, status_code={self.status_code}, "
            f"message={self.message!r})"
        )


class CalendarUnavailable(CalendarError):
    """Network failure, timeout or 5xx: the provider may or may not have acted; retry later."""


class CalendarRateLimited(CalendarUnavailable):
    """429 from the provider; `retry_after` is the wait it asked for, in seconds."""

    def __init__(
        self,
        message: str,
        *,
        retry_after: float,
        code: str = "rate_limited",
        status_code: int = 429,
    ) -> None:
        super().__init__(message, code=code, status_code=status_code)
        self.retry_after = retry_after


class CalendarSlotTaken(CalendarError):
    """The provider refused the time: taken, outside availability, too soon or too far ahead."""


class CalendarNotFound(CalendarError):
    """The booking or event type does not exist at the provider."""


class CalendarRejected(CalendarError):
    """Any other 4xx: our request was wrong or not allowed; retrying the same call will not help."""


class CalendarAuthFailed(CalendarRejected):
    """401/403: the API key is missing, wrong or expired; an operator must fix the configuration."""
