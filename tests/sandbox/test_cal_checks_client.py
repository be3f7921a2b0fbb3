"""The Cal.com stand-in refuses what Cal.com refuses: no or wrong API key, another API version.

Plain HTTP, not our client: these are the answers any caller gets, so a client that forgot a
header or sent the wrong one would fail against the stand-in as it would against Cal.com.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sessionbook_sandbox.cal import EventTypeSpec, create_cal_sandbox

API_KEY = "cal_standin_key"
SINGLE = 102
BOOKINGS_VERSION = "2024-08-13"  # Cal.com API v2 docs: bookings endpoints
EVENT_TYPES_VERSION = "2024-06-14"  # Cal.com API v2 docs: event types endpoints


@pytest.fixture
async def cal() -> AsyncIterator[httpx.AsyncClient]:
    app = create_cal_sandbox(
        api_key=API_KEY,
        event_types={SINGLE: EventTypeSpec(length_minutes=60, title="Single", slug="single")},
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cal.sandbox.test"
    ) as http:
        yield http


async def stored_bookings(cal: httpx.AsyncClient) -> list[object]:
    data: list[object] = (await cal.get("/_sandbox/bookings")).json()["data"]
    return data


@pytest.mark.parametrize(
    ("path", "version"),
    [("/v2/bookings", BOOKINGS_VERSION), (f"/v2/event-types/{SINGLE}", EVENT_TYPES_VERSION)],
)
async def test_host_only_reads_need_the_api_key(
    cal: httpx.AsyncClient, path: str, version: str
) -> None:
    missing = await cal.get(path, headers={"cal-api-version": version})
    wrong = await cal.get(
        path, headers={"cal-api-version": version, "Authorization": "Bearer cal_not_ours"}
    )
    right = await cal.get(
        path, headers={"cal-api-version": version, "Authorization": f"Bearer {API_KEY}"}
    )

    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "UnauthorizedException"
    assert missing.json()["error"]["message"].startswith("No authentication method provided")
    assert (wrong.status_code, wrong.json()["error"]["message"]) == (
        401,
        "Your api key is not valid",
    )
    assert right.status_code == 200, right.text


async def test_a_wrong_key_cannot_book_even_where_the_key_is_optional(
    cal: httpx.AsyncClient,
) -> None:
    answer = await cal.post(
        "/v2/bookings",
        headers={"cal-api-version": BOOKINGS_VERSION, "Authorization": "Bearer cal_not_ours"},
        json={
            "start": "2030-01-08T10:00:00Z",
            "eventTypeId": SINGLE,
            "attendee": {"name": "Ada", "email": "ada@example.com", "timeZone": "Europe/London"},
        },
    )
    assert answer.status_code == 401
    assert await stored_bookings(cal) == []


@pytest.mark.parametrize("version", [None, "2024-04-15", "2024-06-14", "2099-01-01"])
async def test_bookings_are_served_only_in_the_version_our_client_speaks(
    cal: httpx.AsyncClient, version: str | None
) -> None:
    headers = {"Authorization": f"Bearer {API_KEY}"}
    if version is not None:
        headers["cal-api-version"] = version
    answer = await cal.get("/v2/bookings", headers=headers)
    assert answer.status_code == 400
    assert answer.json()["status"] == "error"
    assert BOOKINGS_VERSION in answer.json()["error"]["message"]
