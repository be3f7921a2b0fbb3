"""Cal.com event types seen from the catalog: their length, and the start-up check of packages."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import structlog

from sessionbook.catalog.models import Package
from sessionbook.catalog.service import EventTypeLength, EventTypeUnchecked, EventTypeUnknown
from sessionbook.core.settings import PACKAGE_IDS, ConfigurationError
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.calcom.errors import (
    CalendarAuthFailed,
    CalendarNotFound,
    CalendarUnavailable,
)

log = structlog.get_logger(__name__)


def event_type_length_of(calendar: Calendar) -> EventTypeLength:
    """The catalog's question to Cal.com, with Cal.com's errors in the catalog's words."""

    async def length(event_type_id: int) -> int:
        try:
            return await calendar.get_event_type_length(event_type_id)
        except CalendarNotFound:
            raise EventTypeUnknown(event_type_id) from None
        except (CalendarAuthFailed, CalendarUnavailable) as exc:
            raise EventTypeUnchecked(event_type_id) from exc

    return length


async def check_event_types(calendar: Calendar, packages: Sequence[Package]) -> None:
    """Refuse to run when an active package's Cal.com event type does not last as long as it.

    Raises ConfigurationError naming the package (and, for the four first packages, the
    variable they were seeded from). An event type Cal.com cannot be asked about (outage at
    start) is logged and skipped: an outage should not stop the service too.
    """
    unchecked: list[str] = []
    for package in packages:
        where = _where(package.id)
        event_type_id = package.cal_event_type_id
        try:
            length = await calendar.get_event_type_length(event_type_id)
        except CalendarNotFound:
            raise ConfigurationError(
                f"{where}: Cal.com has no event type {event_type_id} for this API key"
            ) from None
        except CalendarAuthFailed:
            raise ConfigurationError("CAL_API_KEY: Cal.com refused the API key") from None
        except CalendarUnavailable:
            unchecked.append(package.id)
            continue
        if timedelta(minutes=length) != timedelta(minutes=package.duration_minutes):
            raise ConfigurationError(
                f"{where}: Cal.com event type {event_type_id} lasts {length} minutes but the "
                f"{package.id} package lasts {package.duration_minutes}; make them equal "
                "(in Cal.com, or in the admin's Packages page)"
            )
    if unchecked:
        log.warning("cal_event_types_unchecked", packages=unchecked)


def _where(package_id: str) -> str:
    if package_id in PACKAGE_IDS:
        return f"CAL_{package_id.upper()}_EVENT_TYPE_ID (package {package_id})"
    return f"package {package_id}"
