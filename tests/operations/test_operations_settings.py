"""Unit checks without I/O: operations settings, the session cookie's signature, "today"."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from sessionbook.admin.auth import (
    SESSION_SECONDS,
    AdminSession,
    SessionSigner,
    fingerprint,
    hash_password,
)
from sessionbook.admin.service import day_window
from sessionbook.core.settings import ConfigurationError, load_settings
from sessionbook.notifications.ics import session_event
from tests.operations.support import with_changed_payload

HASH = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"
SECRET = "x" * 40


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"admin_password_hash": HASH}, "SESSION_SECRET is required"),
        ({"admin_password_hash": "plain-text", "session_secret": SECRET}, "ADMIN_PASSWORD_HASH"),
        ({"session_secret": "short"}, "SESSION_SECRET must be at least 32"),
        ({"coach_timezone": "Mars/Olympus"}, "COACH_TIMEZONE"),
        ({"smtp_host": "smtp.example.com"}, "SMTP_FROM is required"),
        ({"smtp_from": "no-at-sign"}, "SMTP_FROM must be an email address"),
        ({"smtp_username": "coach"}, "SMTP_USERNAME and SMTP_PASSWORD"),
    ],
)
def test_wrong_operations_settings_stop_the_start_naming_the_variable(
    values: dict[str, Any], variable: str
) -> None:
    with pytest.raises(ConfigurationError, match=variable):
        load_settings(**values)


def test_admin_is_enabled_only_by_a_password_hash() -> None:
    assert load_settings().admin_enabled is False
    enabled = load_settings(admin_password_hash=HASH, session_secret=SECRET)
    assert enabled.admin_enabled is True


def test_a_session_cookie_is_refused_when_forged_stale_or_for_an_old_password() -> None:
    signer = SessionSigner(SECRET)
    current = fingerprint(hash_password("first password here"))
    session = AdminSession.signed_in(current, "a-session-secret", now=1000.0)
    cookie = signer.dumps(session)

    assert signer.loads(cookie, current, now=1001.0) == session
    assert signer.loads(cookie, current, now=session.expires + 1.0) is None
    assert signer.loads(cookie, fingerprint(hash_password("rotated password")), now=1001.0) is None
    assert SessionSigner("y" * 40).loads(cookie, current, now=1001.0) is None
    assert signer.loads(with_changed_payload(cookie, exp=10**10), current, now=1001.0) is None
    anonymous = signer.dumps(AdminSession.anonymous(current, now=1000.0))
    assert signer.loads(with_changed_payload(anonymous, auth=True), current, now=1001.0) is None
    assert signer.loads("garbage", current) is None
    assert signer.loads(None, current) is None


def test_a_session_cookie_older_than_a_working_day_is_refused_whatever_it_claims(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    signer = SessionSigner(SECRET)
    current = fingerprint(hash_password("first password here"))
    signed_at = time.time() - SESSION_SECONDS - 5
    monkeypatch.setattr("itsdangerous.timed.time", SimpleNamespace(time=lambda: signed_at))
    # `exp` says it is still good: only the signed timestamp shows how old the cookie is.
    cookie = signer.dumps(AdminSession.signed_in(current, "a-session-secret", now=time.time()))
    monkeypatch.undo()

    assert signer.loads(cookie, current) is None


def test_today_follows_the_coach_timezone_across_a_dst_change() -> None:
    london = ZoneInfo("Europe/London")
    # 22:30 UTC on the last Saturday of October is 23:30 in London (BST), already Sunday
    # in Auckland; London's Sunday that night is 25 hours long (back to GMT).
    now = datetime(2026, 10, 24, 22, 30, tzinfo=UTC)

    day, start, end = day_window(now, london)
    sunday, sunday_start, sunday_end = day_window(datetime(2026, 10, 25, 12, tzinfo=UTC), london)
    auckland_day, _, _ = day_window(now, ZoneInfo("Pacific/Auckland"))

    assert day.isoformat() == "2026-10-24"
    assert (start, end) == (
        datetime(2026, 10, 23, 23, tzinfo=UTC),
        datetime(2026, 10, 24, 23, tzinfo=UTC),
    )
    assert sunday.isoformat() == "2026-10-25"
    assert (sunday_end - sunday_start).total_seconds() == 25 * 3600
    assert auckland_day.isoformat() == "2026-10-25"


def test_calendar_text_is_escaped_and_folded() -> None:
    start = datetime(2026, 12, 1, 15, tzinfo=UTC)
    description = "line one\nline two " + "long " * 30
    ics = session_event(
        uid="b1@sessionbook",
        sequence=3,
        start=start,
        end=start.replace(hour=16),
        summary="Session; with, commas",
        description=description,
        location="https://meet.example/room",
        now=start,
    ).decode()

    lines = ics.split("\r\n")
    assert "SUMMARY:Session\\; with\\, commas" in lines
    assert all(len(line.encode()) <= 75 for line in lines)
    assert any(line.startswith(" ") for line in lines)  # the long description was folded
    assert ics.endswith("END:VCALENDAR\r\n")
    [event] = Calendar.from_ical(ics).walk("VEVENT")
    assert str(event["SUMMARY"]) == "Session; with, commas"
    assert str(event["DESCRIPTION"]) == description
    assert event["SEQUENCE"] == 3


def test_calendar_event_is_published_in_utc_with_a_stable_uid() -> None:
    paris = ZoneInfo("Europe/Paris")
    start = datetime(2026, 12, 1, 16, tzinfo=paris)

    def event_for(location: str | None) -> Any:
        ics = session_event(
            uid="b1@sessionbook",
            sequence=0,
            start=start,
            end=start.replace(hour=17),
            summary="Discovery call",
            description="Your session",
            location=location,
            now=datetime(2026, 11, 30, 9, tzinfo=UTC),
        )
        calendar = Calendar.from_ical(ics)
        assert str(calendar["METHOD"]) == "PUBLISH"
        assert str(calendar["PRODID"]) == "-//sessionbook//booking confirmation//EN"
        [event] = calendar.walk("VEVENT")
        return event

    event = event_for("https://meet.example/room")
    assert str(event["UID"]) == "b1@sessionbook"
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 15, tzinfo=UTC)
    assert event.decoded("DTSTART").utcoffset() == timedelta(0)
    assert event.decoded("DTEND") == datetime(2026, 12, 1, 16, tzinfo=UTC)
    assert event.decoded("DTSTAMP") == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert (str(event["STATUS"]), str(event["TRANSP"])) == ("CONFIRMED", "OPAQUE")
    assert str(event["URL"]) == "https://meet.example/room"
    assert str(event["LOCATION"]) == "https://meet.example/room"

    in_person = event_for("Room 4, 1 High Street")
    assert str(in_person["LOCATION"]) == "Room 4, 1 High Street"
    assert "URL" not in in_person
    assert "LOCATION" not in event_for(None)
