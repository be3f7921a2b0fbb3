"""Wiring of the scheduling side: the Cal.com client (live or sandbox), the stand-in, the check.

`app.build_services` and `app.create_app` call these, so the one place that chooses live or
sandbox stays `app.py`, and it stays short.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import time, timedelta

import structlog
from fastapi import FastAPI

from sessionbook.catalog.defaults import SANDBOX_EVENT_TYPES
from sessionbook.catalog.models import Package
from sessionbook.catalog.service import EventTypeLength, EventTypeUnchecked, EventTypeUnknown
from sessionbook.core.http_transport import InstrumentedTransport
from sessionbook.core.settings import (
    PACKAGE_IDS,
    SANDBOX_CAL_API_KEY,
    ConfigurationError,
    Settings,
)
from sessionbook.scheduling.calcom.calendar import Calendar
from sessionbook.scheduling.calcom.client import CalComClient
from sessionbook.scheduling.calcom.errors import (
    CalendarAuthFailed,
    CalendarNotFound,
    CalendarUnavailable,
)

log = structlog.get_logger(__name__)

CAL_SANDBOX_PATH = "/sandbox/cal"
# The sandbox coach works every day, so whoever tries the service finds a time within hours.
SANDBOX_WEEKLY_HOURS = {weekday: ((time(9), time(18)),) for weekday in range(7)}
SANDBOX_HOST_TIME_ZONE = "Europe/London"
# The stand-in forgets its bookings when the server stops, the database does not: each start
# numbers Cal.com ids from a random point, so ids stored by an earlier run are not handed out
# again (the odds of two runs overlapping are about one in a hundred thousand), while staying
# well below PostgreSQL's integer limit.
_SANDBOX_FIRST_IDS = (1_000_000, 2_000_000_000)


def build_calendar(settings: Settings) -> CalComClient:
    """The real Cal.com client, pointed at Cal.com with a key, or at our own stand-in."""
    if settings.calendar_live:
        assert settings.cal_api_key is not None
        return CalComClient(
            settings.cal_api_url,
            settings.cal_api_key,
            transport=InstrumentedTransport("calcom"),
        )
    return CalComClient(
        settings.site_url + CAL_SANDBOX_PATH + "/v2",
        SANDBOX_CAL_API_KEY,
        transport=InstrumentedTransport("calcom"),
    )


def mount_cal_sandbox(app: FastAPI, settings: Settings) -> None:
    """Serve the Cal.com stand-in with its fixed event types (see `SANDBOX_EVENT_TYPES`).

    Fixed rather than read from the packages: the coach may create a package later, and it
    must find an event type of its length already there.
    """
    from sessionbook.sandbox.cal import EventTypeSpec, create_cal_sandbox

    event_types = {
        event_type.id: EventTypeSpec(
            length_minutes=event_type.length_minutes, title=event_type.title, slug=event_type.slug
        )
        for event_type in SANDBOX_EVENT_TYPES
    }
    app.mount(
        CAL_SANDBOX_PATH,
        create_cal_sandbox(
            api_key=SANDBOX_CAL_API_KEY,
            event_types=event_types,
            host_time_zone=SANDBOX_HOST_TIME_ZONE,
            weekly_hours=SANDBOX_WEEKLY_HOURS,
            public_base_url=settings.site_url + CAL_SANDBOX_PATH,
            first_booking_id=random.randint(*_SANDBOX_FIRST_IDS),
        ),
    )


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
