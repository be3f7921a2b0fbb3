"""The SMTP sender against a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword

from sessionbook.notifications.email import Attachment, EmailDeliveryError, OutgoingEmail
from sessionbook.notifications.ics import session_event
from sessionbook.notifications.smtp import SmtpEmailSender
from tests.support.live_server import free_port
from tests.support.smtp import smtp_server_on_loopback

START = datetime(2026, 12, 1, 15, 0, tzinfo=UTC)


@dataclass
class Mailbox:
    """What the SMTP server accepted, and how it should answer the next messages."""

    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    refuse_recipient: str | None = None
    data_answer: str | None = None  # e.g. "451 try later"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address == self.refuse_recipient:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_answer:
            return self.data_answer
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def _authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    ok = isinstance(data, LoginPassword) and (data.login, data.password) == (b"coach", b"pw")
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    with smtp_server_on_loopback(mailbox, _authenticate) as port:
        yield mailbox, port


def confirmation(to: str = "ann@example.com") -> OutgoingEmail:
    ics = session_event(
        uid="b1@sessionbook",
        sequence=1,
        start=START,
        end=START + timedelta(hours=1),
        summary="Single session",
        description="Booking reference b1",
        location="https://meet.example/room",
        now=START - timedelta(days=2),
    )
    return OutgoingEmail(
        to=to,
        subject="Booking confirmed",
        text="Hello Ann,\n\nyour session is booked.",
        kind="booking_confirmed",
        booking_id="b1",
        message_id="<sessionbook-outbox-1@example.com>",
        attachments=(Attachment("session.ics", "text/calendar; method=PUBLISH", ics),),
    )


def sender(port: int, **overrides: Any) -> SmtpEmailSender:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "sender": "Coach <coach@example.com>",
        "starttls": False,
        "timeout_seconds": 5,
    }
    options.update(overrides)
    return SmtpEmailSender(**options)


async def test_confirmation_arrives_with_its_calendar_file(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server

    await sender(port, username="coach", password="pw").send(confirmation())

    [(recipients, message)] = mailbox.messages
    assert recipients == ["ann@example.com"]
    assert message["Subject"] == "Booking confirmed"
    assert message["From"] == "Coach <coach@example.com>"
    assert message["Message-ID"] == "<sessionbook-outbox-1@example.com>"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "your session is booked" in body.get_content()
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_param("method") == "PUBLISH"
    assert attachment.get_filename() == "session.ics"
    calendar = attachment.get_content()
    calendar = calendar.decode() if isinstance(calendar, bytes) else calendar
    assert "DTSTART:20261201T150000Z" in calendar
    assert "DTEND:20261201T160000Z" in calendar
    assert "URL:https://meet.example/room" in calendar


async def test_refused_recipient_is_permanent_and_busy_server_is_not(
    smtp_server: tuple[Mailbox, int],
) -> None:
    mailbox, port = smtp_server
    mailbox.refuse_recipient = "gone@example.com"

    with pytest.raises(EmailDeliveryError) as refused:
        await sender(port).send(confirmation("gone@example.com"))
    mailbox.data_answer = "451 4.3.0 try again later"
    with pytest.raises(EmailDeliveryError) as busy:
        await sender(port).send(confirmation())
    with pytest.raises(EmailDeliveryError) as bad_login:
        await sender(port, username="coach", password="wrong", timeout_seconds=1).send(
            confirmation()
        )

    assert refused.value.permanent is True
    assert busy.value.permanent is False
    assert bad_login.value.permanent is False  # our configuration, not the message
    assert mailbox.messages == []


async def test_no_server_or_no_starttls_is_a_transient_failure(
    smtp_server: tuple[Mailbox, int],
) -> None:
    _mailbox, port = smtp_server

    with pytest.raises(EmailDeliveryError) as nobody:
        await sender(free_port()).send(confirmation())
    with pytest.raises(EmailDeliveryError) as plain_only:
        await sender(port, starttls=True).send(confirmation())

    assert nobody.value.permanent is False
    assert plain_only.value.permanent is False


async def test_a_server_that_never_answers_is_given_up_on_after_the_timeout() -> None:
    done = asyncio.Event()

    async def say_nothing(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()  # accepts the connection, never sends its greeting
        writer.close()

    silent = await asyncio.start_server(say_nothing, "127.0.0.1", 0)
    port = silent.sockets[0].getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(EmailDeliveryError) as stalled:
            await sender(port, timeout_seconds=0.5).send(confirmation())
    finally:
        done.set()
        silent.close()

    assert stalled.value.permanent is False
    assert time.monotonic() - started < 5


def test_password_stays_out_of_repr() -> None:
    assert "pw-secret" not in repr(sender(25, username="u", password="pw-secret"))
