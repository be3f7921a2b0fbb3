"""Customer emails as sent: both parts of every kind, language, zone, money, brand, headers."""

from __future__ import annotations

import email
import email.policy
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.smtp import AuthResult

from sessionbook.bookings.models import Booking, BookingSession
from sessionbook.branding.profile import DEFAULT_ACCENT, BrandProfile, StaticBrand
from sessionbook.catalog.models import Package
from sessionbook.core.db import Database
from sessionbook.notifications.email import LogEmailSender, OutgoingEmail
from sessionbook.notifications.messages import (
    BOOKING_CONFIRMED,
    KINDS,
    PAYMENT_RECEIVED,
    SESSIONS_LAPSING,
    EmailSetting,
    render,
)
from sessionbook.notifications.previews import sample_for
from sessionbook.notifications.service import NotificationService
from sessionbook.notifications.smtp import SmtpEmailSender
from tests.support.smtp import Inbox, smtp_server_on_loopback

NOW = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
# Tuesday 8 December 2026, 09:00 UTC: 10:00 in Paris, 04:00 in New York.
START = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
SITE = "https://coach.example"
BRAND = BrandProfile(
    business_name="Coaching Claire",
    coach_name="Claire Dupont",
    support_email="hello@claire.example",
    accent_color="#2f5d8a",
    default_language="en",
    photo_version="abc123",
    configured=True,
)
PACKAGE = Package(
    id="single",
    title="Single session",
    description="",
    price_cents=15000,
    currency="EUR",
    duration_minutes=60,
    sessions=1,
    valid_days=None,
    cal_event_type_id=1002,
    active=True,
    position=1,
)
_TAG = re.compile(r"<[A-Za-z!/][^>]*>")


def booking(**values: Any) -> Booking:
    fields: dict[str, Any] = {
        "id": uuid.UUID("12345678-1234-4234-8234-123456789abc"),
        "package_id": "single",
        "package_title": "Single session",
        "duration_minutes": 60,
        "sessions_total": 1,
        "amount_cents": 15000,
        "refunded_cents": 0,
        "currency": "EUR",
        "customer_name": "Camille Client",
        "customer_email": "camille@example.com",
        "customer_timezone": "Europe/Paris",
        "customer_locale": "fr",
        "status": "scheduled",
        "payment_status": "paid",
        "cal_event_type_id": 1002,
        "sessions_lapsed": 0,
        "sessions_valid_until": None,
    }
    fields.update(values)
    return Booking(**fields)


def session_of(owner: Booking, **values: Any) -> BookingSession:
    fields: dict[str, Any] = {
        "id": uuid.UUID("87654321-4321-4321-8321-cba987654321"),
        "booking_id": owner.id,
        "state": "booked",
        "start_time": START,
        "end_time": START + timedelta(hours=1),
        "meeting_url": "https://meet.example/room",
    }
    fields.update(values)
    return BookingSession(**fields)


def send_kind(
    kind: str,
    owner: Booking,
    *,
    brand: BrandProfile = BRAND,
    sessions: list[BookingSession] | None = None,
    payload: dict[str, object] | None = None,
    coach_timezone: str = "Europe/London",
) -> OutgoingEmail:
    return render(
        kind=kind,
        booking=owner,
        sessions=sessions if sessions is not None else [],
        payload=payload or {},
        setting=EmailSetting(brand=brand, site_url=SITE, coach_timezone=coach_timezone),
        message_id="<sessionbook-outbox-7@coach.example>",
        sequence=1,
        now=NOW,
    )


def confirmation(owner: Booking, **kwargs: Any) -> OutgoingEmail:
    booked = session_of(owner, **kwargs.pop("session", {}))
    return send_kind(
        BOOKING_CONFIRMED, owner, sessions=[booked], payload={"sessionId": str(booked.id)}, **kwargs
    )


def sample(kind: str, locale: str) -> OutgoingEmail:
    found = sample_for(kind, package=PACKAGE, locale=locale, zone=ZoneInfo("Europe/Paris"), now=NOW)
    return send_kind(
        kind,
        found.booking,
        sessions=found.sessions,
        payload=found.payload,
    )


@pytest.mark.parametrize("locale", ["en", "fr"])
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_has_a_plain_text_and_an_html_part(kind: str, locale: str) -> None:
    sent = sample(kind, locale)

    assert sent.html is not None
    assert not _TAG.search(sent.text), "the text part has HTML in it"
    assert sent.text.endswith("\n")
    assert "\n\n\n" not in sent.text
    for part in (sent.text, sent.html):
        assert f"{SITE}/book" in part  # "Manage your booking"
        assert "Claire Dupont" in part
        assert "Coaching Claire" in part
        assert "hello@claire.example" in part
    assert f'<html lang="{locale}">' in sent.html
    assert "max-width:600px" in sent.html
    assert '<a href="https://coach.example/book"' in sent.html
    assert "<script" not in sent.html
    assert "<link" not in sent.html
    assert "<style" not in sent.html
    assert f"background-color:{BRAND.accent_color}" in sent.html
    assert '<img src="https://coach.example/brand/photo?v=abc123"' in sent.html
    assert re.search(r'<img [^>]*alt="[^"]+Claire Dupont"', sent.html)
    assert 'href="mailto:hello@claire.example"' in sent.html
    # The preheader: hidden text right after <body>, the first words a mail list shows.
    assert re.search(r'<body[^>]*>\s*<div style="display:none;[^"]*">[^<]+</div>', sent.html)


def test_a_customer_name_is_escaped_in_html_and_plain_in_text() -> None:
    hostile = booking(customer_name='<script>alert("x")</script> & Co', customer_locale="en")
    sent = confirmation(hostile)

    assert sent.html is not None
    assert "<script" not in sent.html
    assert "Hello &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co," in sent.html
    assert 'Hello <script>alert("x")</script> & Co,' in sent.text


def test_a_french_customer_in_paris_reads_french_24_hour_paris_time_and_euros() -> None:
    owner = booking(status="paid")
    confirmed = confirmation(booking())
    paid = send_kind(PAYMENT_RECEIVED, owner)

    when = "mardi 8 décembre 2026 à 10:00 (heure : Paris)"
    assert confirmed.subject == f"Réservation confirmée : Single session le {when}"
    assert f"Votre Single session est réservée le {when}." in confirmed.text
    assert "Bonjour Camille Client," in confirmed.text
    assert "Gérer votre réservation : https://coach.example/book" in confirmed.text
    assert confirmed.html is not None
    assert "Gérer votre réservation</a>" in confirmed.html
    assert "Référence de réservation 12345678" in confirmed.attachments[0].content.decode()
    assert paid.subject == "Paiement reçu : Single session"
    assert "votre paiement de 150,00\u00a0€ pour Single session" in paid.text
    assert paid.html is not None
    assert "150,00\u00a0€" in paid.html


def test_an_english_customer_reads_a_12_hour_clock_in_their_own_zone() -> None:
    owner = booking(customer_locale="en", customer_timezone="America/New_York", currency="USD")
    confirmed = confirmation(owner)
    paid = send_kind(PAYMENT_RECEIVED, booking(customer_locale="en", currency="USD", status="paid"))

    when = "Tuesday, December 8, 2026 at 4:00\u202fAM (New York Time)"
    assert confirmed.subject == f"Booking confirmed: Single session on {when}"
    assert "Hello Camille Client," in confirmed.text
    assert "We received your payment of $150.00 for Single session. Thank you!" in paid.text


def test_the_language_is_the_customers_else_the_brands_else_english() -> None:
    french_brand = BrandProfile(default_language="fr")

    unknown_language = confirmation(booking(customer_locale="de"), brand=french_brand)
    no_language = confirmation(booking(customer_locale=None), brand=french_brand)
    english_customer = confirmation(booking(customer_locale="en"), brand=french_brand)
    unset_brand = BrandProfile(default_language="")
    nothing_set = confirmation(booking(customer_locale=None), brand=unset_brand)

    assert unknown_language.subject.startswith("Réservation confirmée")
    assert no_language.subject.startswith("Réservation confirmée")
    assert english_customer.subject.startswith("Booking confirmed")
    assert nothing_set.subject.startswith("Booking confirmed")


def test_without_a_customer_zone_times_are_in_the_coachs() -> None:
    sent = confirmation(booking(customer_timezone=None, customer_locale="en"))
    broken = confirmation(booking(customer_timezone="Mars/Olympus", customer_locale="en"))

    assert sent.subject.endswith("at 9:00\u202fAM (London Time)")
    assert broken.subject == sent.subject


def test_lapse_warning_counts_sessions_in_the_customers_language() -> None:
    owner = booking(status="paid", sessions_total=4, sessions_valid_until=NOW + timedelta(days=5))

    french = send_kind(SESSIONS_LAPSING, owner)
    english = send_kind(SESSIONS_LAPSING, booking(**{**_columns(owner), "customer_locale": "en"}))

    assert french.subject == "4 séances de votre Single session restent à réserver"
    assert "avant le samedi 5 décembre 2026 à 10:00 (heure : Paris)" in french.text
    assert english.subject == "4 sessions of your Single session left to book"


def _columns(owner: Booking) -> dict[str, Any]:
    return {column.key: getattr(owner, column.key) for column in Booking.__table__.columns}


def test_only_a_web_address_becomes_a_link_and_only_a_colour_goes_into_styles() -> None:
    hostile = BrandProfile(
        business_name="Claire", accent_color='red;background:url("https://x.example/t")'
    )
    sent = confirmation(
        booking(customer_locale="en"),
        brand=hostile,
        session={"meeting_url": "javascript:alert(1)"},
    )
    pale = confirmation(booking(), brand=BrandProfile(accent_color="#ffee00"))

    assert sent.html is not None
    assert pale.html is not None
    assert 'href="javascript' not in sent.html
    assert "Join here: javascript:alert(1)" in sent.text  # shown as text, harmless there
    assert "x.example" not in sent.html
    assert f"background-color:{DEFAULT_ACCENT}" in sent.html
    assert ";color:#ffffff;" in sent.html  # white on the default dark blue
    assert "background-color:#ffee00" in pale.html
    assert ";color:#ffffff;" not in pale.html  # dark text on a pale accent
    assert ";color:#111827;" in pale.html


def test_without_a_photo_or_names_the_email_shows_neither() -> None:
    sent = confirmation(booking(customer_locale="en"), brand=BrandProfile())

    assert sent.html is not None
    assert "<img" not in sent.html
    assert "mailto:" not in sent.html
    assert sent.sender_name == ""
    assert sent.reply_to is None
    assert "Best regards,\n\nYour booking reference" in sent.text


def build(sent: OutgoingEmail, sender: str = "Bookings <bookings@coach.example>") -> EmailMessage:
    return SmtpEmailSender(host="127.0.0.1", port=25, sender=sender).build(sent)


def test_the_from_name_is_the_brands_and_replies_go_to_its_support_address() -> None:
    branded = build(confirmation(booking()))
    unbranded = build(confirmation(booking(), brand=BrandProfile()))
    bare = build(confirmation(booking(), brand=BrandProfile()), sender="bookings@coach.example")

    assert branded["From"] == "Coaching Claire <bookings@coach.example>"
    assert branded["Reply-To"] == "hello@claire.example"
    assert unbranded["From"] == "Bookings <bookings@coach.example>"
    assert unbranded["Reply-To"] is None
    assert bare["From"] == "bookings@coach.example"


def test_a_brand_name_in_any_language_survives_the_trip() -> None:
    message = build(
        confirmation(booking(), brand=BrandProfile(business_name="Séances Élodie, Lyon"))
    )

    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)

    assert parsed["From"] == '"Séances Élodie, Lyon" <bookings@coach.example>'
    assert parsed["From"].addresses[0].display_name == "Séances Élodie, Lyon"
    assert parsed["Subject"].startswith("Réservation confirmée : Single session le mardi")


def test_a_line_break_in_the_brand_cannot_add_a_header() -> None:
    hostile = BrandProfile(
        business_name="Claire\r\nBcc: everyone@victim.example\r\n",
        support_email="help@claire.example\r\nBcc: more@victim.example",
    )
    message = build(confirmation(booking(), brand=hostile))
    headers = message.as_bytes().split(b"\n\n", 1)[0]

    assert message["From"] == '"Claire Bcc: everyone@victim.example" <bookings@coach.example>'
    assert message["Bcc"] is None
    assert b"\nBcc:" not in headers
    assert b"\rBcc:" not in headers
    assert message["Reply-To"] is None  # not one plain address: left out
    assert "more@victim" not in str(message.get_body(preferencelist=("html",)))
    headers_in_order = ["From", "To", "Subject", "Date", "Message-ID", *_mime(message)]
    assert list(message) == headers_in_order


def _mime(message: EmailMessage) -> list[str]:
    return [key for key in message if key.startswith(("MIME", "Content"))]


@pytest.fixture
def smtp_inbox() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    with smtp_server_on_loopback(inbox, lambda *args: AuthResult(success=True)) as port:
        yield inbox, port


async def test_a_sent_confirmation_arrives_as_text_html_and_calendar_file(
    smtp_inbox: tuple[Inbox, int],
) -> None:
    inbox, port = smtp_inbox
    sender = SmtpEmailSender(
        host="127.0.0.1", port=port, sender="bookings@coach.example", starttls=False
    )

    await sender.send(confirmation(booking()))

    [message] = inbox.received
    assert message.get_content_type() == "multipart/mixed"
    [alternative, calendar] = list(message.iter_parts())
    assert alternative.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in alternative.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    plain = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert plain is not None
    assert html is not None
    assert "mardi 8 décembre 2026 à 10:00 (heure : Paris)" in plain.get_content()
    assert "Gérer votre réservation</a>" in html.get_content()
    assert message["Subject"].startswith("Réservation confirmée : Single session le mardi")
    assert message["From"] == "Coaching Claire <bookings@coach.example>"
    assert message["Reply-To"] == "hello@claire.example"
    assert calendar.get_content_type() == "text/calendar"
    assert calendar.get_filename() == "session.ics"
    content = calendar.get_content()
    ics = content.decode() if isinstance(content, bytes) else content
    assert "DTSTART:20261208T090000Z" in ics


async def test_the_preview_is_what_the_outbox_would_send() -> None:
    database = Database("sqlite+aiosqlite:///:memory:")
    notifications = NotificationService(
        database=database,
        sender=LogEmailSender(),
        brand=StaticBrand(BRAND),
        site_url=SITE,
        coach_timezone="Europe/Paris",
        clock=lambda: NOW,
    )
    try:
        previewed = await notifications.preview(PAYMENT_RECEIVED, locale="fr", package=PACKAGE)
    finally:
        await database.dispose()

    rendered = sample(PAYMENT_RECEIVED, "fr")
    assert (previewed.subject, previewed.text, previewed.html) == (
        rendered.subject,
        rendered.text,
        rendered.html,
    )
    assert previewed.to == "alex@example.com"
