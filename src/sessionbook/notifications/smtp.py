"""SMTP delivery with aiosmtplib: asynchronous all the way, so the event loop never waits."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from email.utils import formatdate

import aiosmtplib
import structlog

from sessionbook.notifications.email import (
    EmailDeliveryError,
    OutgoingEmail,
    from_header,
    one_line,
    reply_to_header,
)

log = structlog.get_logger(__name__)


class SmtpEmailSender:
    """One connection per message: the outbox sends a trickle, and a fresh connection per
    message cannot be left half-broken by an earlier failure."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        timeout_seconds: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self._username = username
        self._password = password
        self.starttls = starttls
        self.timeout_seconds = timeout_seconds

    def __repr__(self) -> str:  # the password stays out of tracebacks and debuggers
        return f"SmtpEmailSender(host={self.host!r}, port={self.port})"

    def build(self, email: OutgoingEmail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = from_header(email.sender_name, self.sender)
        reply_to = reply_to_header(email.reply_to)
        if reply_to is not None:
            message["Reply-To"] = reply_to
        message["To"] = email.to
        message["Subject"] = one_line(email.subject)
        message["Date"] = formatdate(localtime=False, usegmt=True)
        message["Message-ID"] = email.message_id
        message.set_content(email.text)
        if email.html is not None:
            # multipart/alternative: clients show the last part they can, so HTML goes last;
            # attachments then wrap both in multipart/mixed.
            message.add_alternative(email.html, subtype="html")
        for attachment in email.attachments:
            maintype, _, subtype = attachment.content_type.partition("/")
            subtype, _, parameters = subtype.partition(";")
            params = dict(
                part.strip().split("=", 1) for part in parameters.split(";") if "=" in part
            )
            message.add_attachment(
                attachment.content,
                maintype=maintype,
                subtype=subtype.strip(),
                filename=attachment.filename,
                params=params,
            )
        return message

    async def send(self, email: OutgoingEmail) -> None:
        message = self.build(email)
        login = self._username is not None and self._password is not None
        try:
            await aiosmtplib.send(
                message,
                hostname=self.host,
                port=self.port,
                username=self._username if login else None,
                password=self._password if login else None,
                # Required when configured: a server that cannot upgrade is refused, never
                # talked to in plain text; when not configured, never attempted.
                start_tls=self.starttls,
                tls_context=ssl.create_default_context(),
                timeout=self.timeout_seconds,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            raise EmailDeliveryError("recipient refused", permanent=True) from exc
        except (aiosmtplib.SMTPAuthenticationError, aiosmtplib.SMTPSenderRefused) as exc:
            # Our configuration is wrong, not this message: keep it for when it is fixed.
            raise EmailDeliveryError(f"SMTP refused us: {exc.code}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            # 5xx is the server's final word on this message; 4xx means "try again later".
            raise EmailDeliveryError(f"SMTP {exc.code}", permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise EmailDeliveryError(f"SMTP unavailable: {type(exc).__name__}") from exc
        log.info("email_sent", kind=email.kind, booking_id=email.booking_id)
