"""The booking page's month calendar over real HTTP, and booking a time with it without script.

Against the sandbox stand-ins: the coach is free on weekdays, 9:00 to 17:00, never at weekends.
"""

from __future__ import annotations

import html as html_module
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from sessionbook.core.db import Database
from sessionbook.web.calendar import add_months, month_end
from tests.conftest import DatabaseUnderTest, RunningServer, run_server
from tests.support.queries import booking_row, set_booking
from tests.web.browser import FREE, create_booking, csrf_from, open_link

MONTHLY = {
    "packageId": "monthly",
    "customerName": "Ada Lovelace",
    "customerEmail": "ada@example.com",
}

OPEN_DAY = re.compile(
    r'<a class="day open[^"]*" href="/book\?month=(\d{4}-\d{2})&amp;day=(\d{4}-\d{2}-\d{2})" '
    r'data-day="[^"]+" aria-label="([^"]+)"'
)
CLOSED_DAY = re.compile(
    r'<span class="day[^"]*" data-day="(\d{4}-\d{2}-\d{2})" aria-disabled="true"'
)
RADIO = re.compile(r'<input type="radio" name="slot" value="([^"]+)"')


@pytest.fixture
async def browser(server: RunningServer) -> AsyncIterator[httpx.AsyncClient]:
    async with server.client() as client:
        yield client


def next_month() -> date:
    return add_months(datetime.now(UTC).date().replace(day=1), 1)


def selected_link(month: date, day: str) -> str:
    """The start of the chosen day's cell: selected, a link to that day."""
    link = f'<a class="day open" href="/book?month={month:%Y-%m}&amp;day={day}"'
    return '<td role="gridcell" aria-selected="true">' + link


def picker_of(page: str) -> str:
    start = page.index('<section class="slot-picker"')
    return page[start : page.index("</section>", start)]


async def free_booking(browser: httpx.AsyncClient) -> dict[str, Any]:
    created = await create_booking(browser, FREE)
    await open_link(browser, created["bookingToken"])
    return created


async def monthly_until(
    browser: httpx.AsyncClient, owner_db: Database, until: datetime
) -> dict[str, Any]:
    """A paid monthly package whose sessions must start before `until`, opened here."""
    created = await create_booking(browser, MONTHLY)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="paid",
        payment_status="paid",
        paid_at=datetime.now(UTC),
        sessions_valid_until=until,
        customer_timezone="UTC",
    )
    await open_link(browser, created["bookingToken"])
    return created


def mid_next_month() -> datetime:
    month = next_month()
    return datetime(month.year, month.month, 15, tzinfo=UTC)


async def test_the_month_marks_days_with_free_times_and_disables_the_rest(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    # The sandbox coach works every day: the package's validity ends the free days.
    await monthly_until(browser, owner_db, mid_next_month())
    month = next_month()

    page = await browser.get("/book", params={"month": f"{month:%Y-%m}"})

    assert page.status_code == 200
    picker = picker_of(page.text)
    open_days = OPEN_DAY.findall(picker)
    closed_days = CLOSED_DAY.findall(picker)
    assert [day for _month, day, _label in open_days] == [
        f"{month:%Y-%m}-{number:02d}" for number in range(1, 15)
    ]
    assert closed_days == [
        f"{month:%Y-%m}-{number:02d}" for number in range(15, month_end(month).day + 1)
    ]
    for _month, _day, label in open_days:
        assert re.fullmatch(r"\w+day, \w+ \d+, \d+ times? available", html_module.unescape(label))
    assert f'data-day="{closed_days[0]}" aria-disabled="true" aria-label="' in picker
    assert "no free times" in picker
    # The first day with times is chosen and its times are radio buttons of a real form.
    first_open = open_days[0][1]
    assert selected_link(month, first_open) in picker
    assert '<form class="day-times" method="post" action="/book/slot"' in picker
    times = RADIO.findall(picker)
    count = int(re.search(r"(\d+) times? available", open_days[0][2]).group(1))  # type: ignore[union-attr]
    assert len(times) == count
    assert all(value.startswith(first_open) for value in times)


async def test_a_day_of_the_month_shows_its_own_times(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    await monthly_until(browser, owner_db, mid_next_month())
    month = next_month()
    chosen = f"{month:%Y-%m}-03"

    page = await browser.get("/book", params={"month": f"{month:%Y-%m}", "day": chosen})

    picker = picker_of(page.text)
    assert selected_link(month, chosen) in picker
    assert RADIO.findall(picker)
    assert all(value.startswith(chosen) for value in RADIO.findall(picker))
    # A day without times is not chosen: the month's first open day is.
    closed = f"{month:%Y-%m}-20"
    fallback = await browser.get("/book", params={"month": f"{month:%Y-%m}", "day": closed})
    assert RADIO.findall(fallback.text)
    assert all(value.startswith(f"{month:%Y-%m}-01") for value in RADIO.findall(fallback.text))


async def test_this_month_has_no_way_back_and_the_far_limit_no_way_on(
    browser: httpx.AsyncClient,
) -> None:
    await free_booking(browser)
    this_month = datetime.now(UTC).date().replace(day=1)

    page = picker_of((await browser.get("/book")).text)
    assert 'disabled data-month-prev data-testid="month-prev"' in page
    assert f'href="/book?month={add_months(this_month, 1):%Y-%m}" data-month-next' in page
    # Today is marked for assistive technology too.
    assert 'aria-current="date"' in page

    # A month before this one shows this one; a month far ahead shows the last bookable one.
    past = picker_of((await browser.get("/book", params={"month": "2020-01"})).text)
    assert f'data-month="{this_month:%Y-%m}"' in past
    last = (datetime.now(UTC) + timedelta(days=84)).date().replace(day=1)
    far = picker_of((await browser.get("/book", params={"month": "2099-12"})).text)
    assert f'data-month="{last:%Y-%m}"' in far
    assert 'disabled data-month-next data-testid="month-next"' in far
    assert f'href="/book?month={add_months(last, -1):%Y-%m}" data-month-prev' in far
    for nonsense in ("13-2026", "2026-13", "x" * 300):
        answer = await browser.get("/book", params={"month": nonsense, "day": nonsense})
        assert answer.status_code == 200
        assert f'data-month="{this_month:%Y-%m}"' in picker_of(answer.text)


async def test_a_package_valid_until_a_date_stops_the_calendar_there(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, MONTHLY)
    valid_until = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=40
    )
    await set_booking(
        owner_db,
        created["bookingId"],
        status="paid",
        payment_status="paid",
        paid_at=datetime.now(UTC),
        sessions_valid_until=valid_until,
        customer_timezone="UTC",
    )
    await open_link(browser, created["bookingToken"])
    last_month = (valid_until - timedelta(days=1)).date().replace(day=1)

    far = picker_of((await browser.get("/book", params={"month": "2099-12"})).text)

    assert f'data-month="{last_month:%Y-%m}"' in far
    assert 'disabled data-month-next data-testid="month-next"' in far
    for _month, day, _label in OPEN_DAY.findall(far):
        assert date.fromisoformat(day) < valid_until.date()


async def test_the_side_panel_names_the_package_its_length_price_and_progress(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await create_booking(browser, MONTHLY)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="paid",
        payment_status="paid",
        paid_at=datetime.now(UTC),
        sessions_valid_until=datetime.now(UTC) + timedelta(days=31),
        customer_timezone="Europe/Paris",
    )
    await open_link(browser, created["bookingToken"])

    page = (await browser.get("/book")).text

    aside = page[page.index('<aside class="booking-aside"') : page.index("</aside>")]
    assert "Monthly package" in aside
    assert '<dd data-testid="aside-duration">1 hour each session</dd>' in aside
    assert '<dd data-testid="aside-price">$500.00</dd>' in aside
    assert "Session 1 of 4" in aside
    assert re.search(r'<option value="Europe/Paris"[^>]* selected>', aside)
    assert re.search(r'<option value="America/New_York"[^>]*>[^<]*New York', aside)
    assert 'data-timezone data-testid="timezone"' in aside


async def test_without_script_the_form_books_the_chosen_time(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await free_booking(browser)
    month = next_month()
    page = await browser.get("/book", params={"month": f"{month:%Y-%m}"})
    slot = RADIO.findall(page.text)[1]

    answer = await browser.post(
        "/book/slot",
        data={
            "csrf_token": csrf_from(page.text),
            "mode": "schedule",
            "tz": "Europe/Paris",
            "slot": slot,
        },
    )

    assert answer.status_code == 303
    assert answer.headers["location"] == "/book"
    booked = await browser.get("/book")
    assert 'data-view="confirmed"' in booked.text
    row = await booking_row(owner_db, created["bookingId"])
    assert (row.status, row.customer_timezone) == ("scheduled", "Europe/Paris")


async def test_without_script_a_taken_time_says_so_and_shows_the_fresh_times(
    browser: httpx.AsyncClient, server: RunningServer
) -> None:
    await free_booking(browser)
    month = next_month()
    page = await browser.get("/book", params={"month": f"{month:%Y-%m}"})
    csrf = csrf_from(page.text)
    slot = RADIO.findall(page.text)[0]
    day = slot[:10]
    # Someone else books that very time first.
    async with server.client() as other:
        rival = await create_booking(other, FREE)
        start, end = slot.split("/")
        taken = await other.post(
            "/functions/v1/booking-schedule",
            json={"bookingToken": rival["bookingToken"], "startTime": start, "endTime": end},
        )
        assert taken.status_code == 200, taken.text

    answer = await browser.post(
        "/book/slot",
        data={
            "csrf_token": csrf,
            "mode": "schedule",
            "slot": slot,
            "month": f"{month:%Y-%m}",
            "day": day,
        },
    )

    assert answer.status_code == 409
    assert "that time was just taken" in answer.text
    assert 'data-view="schedule"' in answer.text
    fresh = RADIO.findall(answer.text)
    assert fresh
    assert slot not in fresh
    assert all(value.startswith(day) for value in fresh)


async def test_without_script_the_form_needs_the_page_csrf_token_and_a_time(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await free_booking(browser)
    page = await browser.get("/book", params={"month": f"{next_month():%Y-%m}"})
    slot = RADIO.findall(page.text)[0]

    forged = await browser.post("/book/slot", data={"csrf_token": "x" * 43, "slot": slot})
    assert forged.status_code == 403
    assert "This page had expired" in forged.text
    missing = await browser.post("/book/slot", data={"csrf_token": csrf_from(page.text)})
    assert missing.status_code == 400
    assert "Please choose a time first." in missing.text
    for garbage in ("2026-01-01", "a/b", slot.split("/")[0] + "/" + slot.split("/")[0]):
        bad = await browser.post(
            "/book/slot", data={"csrf_token": csrf_from(page.text), "slot": garbage}
        )
        assert bad.status_code == 400
    row = await booking_row(owner_db, created["bookingId"])
    assert row.status == "paid"


async def test_without_script_a_second_session_of_a_package_books_too(
    browser: httpx.AsyncClient, owner_db: Database, test_db: DatabaseUnderTest
) -> None:
    created = await create_booking(browser, MONTHLY)
    await set_booking(
        owner_db,
        created["bookingId"],
        status="paid",
        payment_status="paid",
        paid_at=datetime.now(UTC),
        sessions_valid_until=datetime.now(UTC) + timedelta(days=60),
    )
    await open_link(browser, created["bookingToken"])
    for number in (1, 2):
        page = await browser.get("/book", params={"month": f"{next_month():%Y-%m}"})
        assert f"Session {number} of 4" in page.text
        slot = RADIO.findall(page.text)[number]
        answer = await browser.post(
            "/book/slot", data={"csrf_token": csrf_from(page.text), "slot": slot}
        )
        assert answer.status_code == 303
    page = await browser.get("/book")
    assert "2 of 4 sessions booked" in page.text


async def test_times_inside_the_cutoff_say_they_cannot_be_moved_later(
    test_db: DatabaseUnderTest,
) -> None:
    # A cutoff of 30 days: a day 10 days away is inside it, a day 40 days away is not.
    inside = (datetime.now(UTC) + timedelta(days=10)).date()
    outside = (datetime.now(UTC) + timedelta(days=40)).date()
    with run_server(test_db, cancellation_cutoff_hours=720) as running:
        async with running.client() as client:
            await free_booking(client)
            near = await client.get(
                "/book", params={"month": f"{inside:%Y-%m}", "day": f"{inside}"}
            )
            far = await client.get(
                "/book", params={"month": f"{outside:%Y-%m}", "day": f"{outside}"}
            )
    picker = picker_of(near.text)
    times = RADIO.findall(picker)
    assert times
    assert all(value.startswith(f"{inside}") for value in times)
    assert picker.count('data-testid="cutoff-note">cannot be moved later</span>') == len(times)
    assert picker.count("data-inside-cutoff") == len(times)
    legend = re.search(r'data-testid="cutoff-legend">\s*([^<]+)</p>', picker)
    assert legend
    assert "within 720 hours" in legend.group(1)
    far_picker = picker_of(far.text)
    assert all(value.startswith(f"{outside}") for value in RADIO.findall(far_picker))
    assert RADIO.findall(far_picker)
    assert "cannot be moved later</span>" not in far_picker
    assert 'data-testid="cutoff-legend" hidden' in far_picker


async def test_the_page_with_its_styles_and_scripts_stays_under_100_kb(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    # The heaviest schedule view: a package part booked, so the Move panel's picker is there too.
    await monthly_until(browser, owner_db, datetime.now(UTC) + timedelta(days=60))
    page = await browser.get("/book", params={"month": f"{next_month():%Y-%m}"})
    slot = RADIO.findall(page.text)[0]
    booked = await browser.post(
        "/book/slot", data={"csrf_token": csrf_from(page.text), "slot": slot}
    )
    assert booked.status_code == 303
    page = await browser.get("/book", params={"month": f"{next_month():%Y-%m}"})
    assert 'data-testid="session"' in page.text
    assert page.text.count("data-slot-picker") == 2

    assets = re.findall(r'(?:href|src)="(/static/[^"]+)"', page.text)
    assert {asset.split("?")[0] for asset in assets} == {
        "/static/book.css",
        "/static/book.js",
        "/static/slots.js",
        "/static/tzpicker.js",
    }
    # Page weight as a phone downloads it on a first visit: the page, then its styles and
    # scripts, which travel gzip-compressed.
    sizes = {"html": page.num_bytes_downloaded}
    for asset in assets:
        answer = await browser.get(asset, headers={"Accept-Encoding": "gzip"})
        assert answer.status_code == 200
        assert answer.headers["content-encoding"] == "gzip", asset
        sizes[asset] = answer.num_bytes_downloaded
    assert sum(sizes.values()) < 100_000, sizes


async def test_without_script_booking_counts_against_the_schedule_limit(
    test_db: DatabaseUnderTest,
) -> None:
    with run_server(test_db, rate_limits="on") as running:
        async with running.client() as client:
            await free_booking(client)
            page = await client.get("/book")
            csrf = csrf_from(page.text)
            # A well-formed time nobody offers: refused by the service, yet a try all the same.
            never = "2030-01-01T03:17:00Z/2030-01-01T03:47:00Z"
            answers = [
                (await client.post("/book/slot", data={"csrf_token": csrf, "slot": never}))
                for _ in range(21)
            ]
    assert {answer.status_code for answer in answers[:20]} == {409}
    assert answers[20].status_code == 429
    assert "Too many tries in a short time" in answers[20].text


async def test_the_form_moves_a_booked_session_too(
    browser: httpx.AsyncClient, owner_db: Database
) -> None:
    created = await free_booking(browser)
    month = add_months(next_month(), 1)  # well beyond the change cutoff
    page = await browser.get("/book", params={"month": f"{month:%Y-%m}"})
    first = RADIO.findall(page.text)[0]
    booked = await browser.post(
        "/book/slot", data={"csrf_token": csrf_from(page.text), "slot": first}
    )
    assert booked.status_code == 303
    confirmed = await browser.get("/book")
    assert 'data-view="confirmed"' in confirmed.text
    query = {"start": f"{month:%Y-%m}-20", "end": f"{month:%Y-%m}-20", "timezone": "UTC"}
    later = (await browser.get("/book/api/slots", params=query)).json()["slots"][0]

    moved = await browser.post(
        "/book/slot",
        data={
            "csrf_token": csrf_from(confirmed.text),
            "mode": "reschedule",
            "slot": f"{later['start']}/{later['end']}",
        },
    )

    assert moved.status_code == 303
    row = await booking_row(owner_db, created["bookingId"])
    assert row.status == "scheduled"
    shown = (await browser.get("/book")).text
    assert f'data-start="{later["start"].replace("Z", "+00:00")}"' in shown


async def test_a_booking_that_changed_meanwhile_shows_where_it_stands(
    browser: httpx.AsyncClient,
) -> None:
    await free_booking(browser)
    page = await browser.get("/book", params={"month": f"{next_month():%Y-%m}"})
    first, second = RADIO.findall(page.text)[:2]
    csrf = csrf_from(page.text)
    booked = await browser.post("/book/slot", data={"csrf_token": csrf, "slot": first})
    assert booked.status_code == 303

    # The same page, still open in another tab: its session is booked already.
    again = await browser.post("/book/slot", data={"csrf_token": csrf, "slot": second})

    assert again.status_code == 409
    assert "your booking changed meanwhile" in again.text
    assert 'data-view="confirmed"' in again.text
