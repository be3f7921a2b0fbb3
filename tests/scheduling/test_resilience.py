"""Failures: retries on reads, none on bookings, rate limits, auth, versions, secrecy of the key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from structlog.testing import capture_logs

from sessionbook.scheduling.calcom.client import CalComClient
from sessionbook.scheduling.calcom.errors import (
    CalendarAuthFailed,
    CalendarRateLimited,
    CalendarSlotTaken,
    CalendarUnavailable,
)
from sessionbook_sandbox.cal import create_cal_sandbox
from tests.scheduling.conftest import API_KEY, EVENT_TYPES, SINGLE, Sandbox
from tests.support.live_server import free_port, live_server

NOW = datetime(2026, 12, 7, 7, tzinfo=UTC)
TUESDAY = datetime(2026, 12, 8, tzinfo=UTC)


@pytest.fixture(autouse=True)
async def frozen_clock(sandbox: Sandbox) -> None:
    await sandbox.set_now(NOW)


async def tuesday_slots(client: CalComClient) -> int:
    slots = await client.get_slots(
        event_type_id=SINGLE,
        start=TUESDAY,
        end=TUESDAY + timedelta(days=1),
        time_zone="UTC",
        duration_minutes=60,
    )
    return len(slots)


async def book_tuesday_ten(client: CalComClient) -> None:
    await client.create_booking(
        event_type_id=SINGLE,
        start=TUESDAY + timedelta(hours=10),
        duration_minutes=60,
        attendee_name="Ada Lovelace",
        attendee_email="ada@example.com",
        attendee_time_zone="UTC",
        attendee_phone=None,
        notes=None,
        metadata={"booking_id": "bk-1"},
    )


async def test_a_failing_read_is_retried(sandbox: Sandbox, client: CalComClient) -> None:
    await sandbox.add_fault(path_prefix="/v2/slots", status=503, count=2)

    assert await tuesday_slots(client) == 8
    assert len(await sandbox.requests("GET", "/v2/slots")) == 3


async def test_a_read_that_keeps_failing_is_unavailable(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.add_fault(path_prefix="/v2/slots", status=500, count=10)

    with pytest.raises(CalendarUnavailable) as failure:
        await tuesday_slots(client)

    assert failure.value.status_code == 500
    assert failure.value.code == "InternalServerErrorException"
    assert len(await sandbox.requests("GET", "/v2/slots")) == 3  # 1 + max_retries


async def test_an_html_gateway_error_is_unavailable(sandbox: Sandbox, client: CalComClient) -> None:
    await sandbox.add_fault(path_prefix="/v2/event-types", status=502, count=3, html_body=True)

    with pytest.raises(CalendarUnavailable) as failure:
        await client.get_event_type_length(SINGLE)

    assert failure.value.status_code == 502


async def test_a_slow_read_times_out_and_is_retried(sandbox: Sandbox) -> None:
    await sandbox.add_fault(path_prefix="/v2/slots", delay_seconds=1.0)

    async with sandbox.client(timeout=0.3) as client:
        assert await tuesday_slots(client) == 8

    assert len(await sandbox.requests("GET", "/v2/slots")) == 2


async def test_a_booking_is_never_retried_by_the_client(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.add_fault(path_prefix="/v2/bookings", method="POST", status=503, count=5)

    with pytest.raises(CalendarUnavailable) as failure:
        await book_tuesday_ten(client)

    assert failure.value.status_code == 503
    assert len(await sandbox.requests("POST", "/v2/bookings")) == 1
    assert await sandbox.bookings() == []


async def test_a_booking_that_times_out_is_not_retried(sandbox: Sandbox) -> None:
    await sandbox.add_fault(path_prefix="/v2/bookings", method="POST", delay_seconds=1.0)

    async with sandbox.client(timeout=0.3) as client:
        with pytest.raises(CalendarUnavailable) as failure:
            await book_tuesday_ten(client)

    assert failure.value.code == "timeout"
    assert len(await sandbox.requests("POST", "/v2/bookings")) == 1


async def test_a_rate_limited_booking_says_how_long_to_wait(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.add_fault(
        path_prefix="/v2/bookings", method="POST", status=429, retry_after_seconds=7
    )

    with pytest.raises(CalendarRateLimited) as limited:
        await book_tuesday_ten(client)

    assert limited.value.retry_after == 7
    assert limited.value.status_code == 429
    assert isinstance(limited.value, CalendarUnavailable)
    assert len(await sandbox.requests("POST", "/v2/bookings")) == 1


async def test_a_rate_limited_read_waits_as_asked_then_retries(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await sandbox.add_fault(path_prefix="/v2/slots", status=429, retry_after_seconds=0)

    assert await tuesday_slots(client) == 8
    assert len(await sandbox.requests("GET", "/v2/slots")) == 2


async def test_a_long_rate_limit_is_not_waited_out_inside_a_read(
    sandbox: Sandbox, client: CalComClient
) -> None:
    # Cal.com's own 429 has no Retry-After, only X-RateLimit-Reset-Default (60 s here).
    await sandbox.add_fault(path_prefix="/v2/slots", status=429)

    with pytest.raises(CalendarRateLimited) as limited:
        await tuesday_slots(client)

    assert limited.value.retry_after == 60
    assert len(await sandbox.requests("GET", "/v2/slots")) == 1


async def test_the_stand_in_throttles_like_cal_com_when_asked() -> None:
    port = free_port()
    app = create_cal_sandbox(api_key=API_KEY, event_types=EVENT_TYPES, rate_limit_per_minute=3)
    with live_server(app, port=port) as root:
        async with CalComClient(f"{root}/v2", API_KEY, max_retries=0) as client:
            for _ in range(3):
                assert await client.get_event_type_length(SINGLE) == 60
            with pytest.raises(CalendarRateLimited) as limited:
                await client.get_event_type_length(SINGLE)

    assert limited.value.code == "ThrottlerException"
    assert 55 <= limited.value.retry_after <= 60


async def test_a_wrong_key_is_an_auth_failure(sandbox: Sandbox) -> None:
    async with sandbox.client(api_key="cal_wrong_key") as client:
        with pytest.raises(CalendarAuthFailed) as on_read:
            await client.get_event_type_length(SINGLE)
        with pytest.raises(CalendarAuthFailed) as on_booking:
            await book_tuesday_ten(client)
        # As at Cal.com, slots are public: a wrong key does not stop them.
        assert await tuesday_slots(client) == 8

    assert on_read.value.status_code == 401
    assert on_read.value.message == "Your api key is not valid"
    assert on_booking.value.status_code == 401
    assert await sandbox.bookings() == []
    assert len(await sandbox.requests("GET", "/v2/event-types")) == 1  # auth is not retried


async def test_an_unreachable_cal_com_is_unavailable() -> None:
    async with CalComClient(
        f"http://127.0.0.1:{free_port()}/v2", API_KEY, max_retries=1, backoff_seconds=0.01
    ) as client:
        with pytest.raises(CalendarUnavailable) as failure:
            await client.get_event_type_length(SINGLE)

    assert failure.value.code == "network"


async def test_the_api_key_stays_out_of_logs_errors_and_reprs(sandbox: Sandbox) -> None:
    await sandbox.add_fault(path_prefix="/v2/slots", status=503, count=10)
    async with sandbox.client(api_key=API_KEY) as client:
        with capture_logs() as logs, pytest.raises(CalendarUnavailable) as failure:
            await tuesday_slots(client)
        shown = repr(client)

    assert logs, "retries should be logged"
    assert API_KEY not in repr(logs)
    assert API_KEY not in str(failure.value)
    assert API_KEY not in repr(failure.value)
    assert API_KEY not in shown


@pytest.mark.parametrize(
    ("path", "version", "status"),
    [
        ("/v2/slots?eventTypeId=102&start=2026-12-08&end=2026-12-08", None, 404),
        ("/v2/slots?eventTypeId=102&start=2026-12-08&end=2026-12-08", "2024-08-13", 404),
        ("/v2/bookings", None, 400),
        ("/v2/event-types/102", "2024-08-13", 400),
    ],
)
async def test_the_stand_in_demands_the_right_api_version(
    sandbox: Sandbox, path: str, version: str | None, status: int
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if version:
        headers["cal-api-version"] = version

    response = await sandbox.http.get(path, headers=headers)

    assert response.status_code == status
    body = response.json()
    assert body["status"] == "error"
    assert body["path"] == path
    assert set(body["error"]) == {"code", "message"}


async def test_a_slot_refusal_after_a_fault_is_still_a_refusal(
    sandbox: Sandbox, client: CalComClient
) -> None:
    await book_tuesday_ten(client)
    await sandbox.add_fault(path_prefix="/v2/slots", status=503)

    assert await tuesday_slots(client) == 7
    with pytest.raises(CalendarSlotTaken):
        await book_tuesday_ten(client)
