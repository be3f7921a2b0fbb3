"""Wiring of the scheduling side: the Cal.com client (live or sandbox), the stand-in, the check.

`app.build_services` and `app.create_app` call these, so the one place that chooses live or
sandbox stays `app.py`, and it stays short.
"""

from __future__ import annotations

import random
from datetime import time, timedelta

import structlog
from fastapi import FastAPI

from sessionbook.catalog import Catalog
from sessionbook.monitoring.providers import InstrumentedTransport
from sessionbook.scheduling.calendar import Calendar
from sessionbook.scheduling.client import CalComClient
from sessionbook.scheduling.errors import (
    CalendarAuthFailed,
    CalendarNotFound,
    CalendarUnavailable,
)
from sessionbook.settings import (
    SANDBOX_CAL_API_KEY,
    ConfigurationError,
    Settings,
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


def mount_cal_sandbox(app: FastAPI, settings: Settings, catalog: Catalog) -> None:
    """Serve the Cal.com stand-in with one event type per package, as long as the catalog says."""
    from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox

    event_types = {
        package.cal_event_type_id: EventTypeSpec(
            length_minutes=package.duration_minutes, title=package.title, slug=package.id
        )
        for package in catalog.all()
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
