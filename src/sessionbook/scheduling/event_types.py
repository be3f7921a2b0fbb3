"""Start-up check that each Cal.com event type lasts as long as its package's session."""

from __future__ import annotations

from datetime import timedelta

import structlog

from sessionbook.catalog.packages import Catalog
from sessionbook.core.settings import ConfigurationError
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.calcom.errors import (
    CalendarAuthFailed,
    CalendarNotFound,
    CalendarUnavailable,
)

log = structlog.get_logger(__name__)


async def check_event_types(calendar: Calendar, catalog: Catalog) -> None:
    """Refuse to run when a Cal.com event type's length differs from its package's duration.

    Raises ConfigurationError naming the variable. An event type Cal.com cannot be asked about
    (outage at start) is logged and skipped: an outage should not stop the service too.
    """
    unchecked: list[str] = []
    for package in catalog.all():
        variable = f"CAL_{package.id.upper()}_EVENT_TYPE_ID"
        event_type_id = package.cal_event_type_id
        try:
            length = await calendar.get_event_type_length(event_type_id)
        except CalendarNotFound:
            raise ConfigurationError(
                f"{variable}: Cal.com has no event type {event_type_id} for this API key"
            ) from None
        except CalendarAuthFailed:
            raise ConfigurationError("CAL_API_KEY: Cal.com refused the API key") from None
        except CalendarUnavailable:
            unchecked.append(variable)
            continue
        if timedelta(minutes=length) != timedelta(minutes=package.duration_minutes):
            raise ConfigurationError(
                f"{variable}: Cal.com event type {event_type_id} lasts {length} minutes but the "
                f"{package.id} package lasts {package.duration_minutes}; make them equal "
                "(in Cal.com, or with SESSIONBOOK_CATALOG)"
            )
    if unchecked:
        log.warning("cal_event_types_unchecked", variables=unchecked)
