"""The email port: what the outbox worker hands to a sender, and the log-only default sender."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.utils import formataddr, parseaddr
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

# Control characters and Unicode's own line and paragraph separators; no-break spaces stay.
_LINE_BREAKING = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]")
_SPACES = re.compile(" {2,}")


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str  # e.g. "text/calendar; method=PUBLISH"
    content: bytes


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    """One message to one customer.

    `kind` and `booking_id` say what it is without saying whom it is for, so they are what a
    log line may carry. `message_id` is stable per outbox row: a repeat after a crash between
    sending and recording can be recognised as the same message by mail clients.
    """

    to: str
    subject: str
    text: str
    kind: str
    booking_id: str
    message_id: str
    attachments: tuple[Attachment, ...] = field(default_factory=tuple)
    # The same message as HTML, sent beside `text` as multipart/alternative.
    html: str | None = None
    # The brand's name for the From header ("": the configured sender's own name).
    sender_name: str = ""
    reply_to: str | None = None


def one_line(value: str) -> str:
    """`value` on one line: CR, LF and other control characters become single spaces.

    Header values come from the brand and the catalog; a line break in one must never start
    a header of its own.
    """
    return _SPACES.sub(" ", _LINE_BREAKING.sub(" ", value)).strip(" ")


def from_header(sender_name: str, configured_sender: str) -> str:
    """The From header: the brand's name (else the configured one) and the configured address."""
    configured_name, address = parseaddr(configured_sender)
    name = one_line(sender_name) or one_line(configured_name)
    return formataddr((name, address))


def reply_to_header(address: str | None) -> str | None:
    """A single plain address for Reply-To, or None when `address` is not one."""
    if not address:
        return None
    name, parsed = parseaddr(address)
    # Anything beside the one address (a name, a line break, a second header) differs.
    if name or parsed != address or "@" not in parsed:
        return None
    return parsed


class EmailDeliveryError(Exception):
    """The message was not accepted. `permanent` means retrying the same message cannot help."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class EmailSender(Protocol):
    """Delivers one email or raises EmailDeliveryError; must not log the address."""

    async def send(self, email: OutgoingEmail) -> None: ...


class LogEmailSender:
    """The default without SMTP: one log line per message with its kind and booking id only."""

    def __init__(self) -> None:
        self.sent: list[OutgoingEmail] = []

    async def send(self, email: OutgoingEmail) -> None:
        self.sent.append(email)
        del self.sent[:-100]  # keep the last few for a look in a debugger, never grow forever
        log.info(
            "email_logged_not_sent",
            kind=email.kind,
            booking_id=email.booking_id,
            attachments=[a.filename for a in email.attachments],
        )
