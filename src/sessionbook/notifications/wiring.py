"""Choose the email sender from the settings and build the notification service."""

from __future__ import annotations

from sessionbook.core.db import Database
from sessionbook.core.settings import Settings
from sessionbook.notifications.email import EmailSender, LogEmailSender
from sessionbook.notifications.service import NotificationService, message_domain
from sessionbook.notifications.smtp import SmtpEmailSender


def email_sender(settings: Settings) -> EmailSender:
    """SMTP when SMTP_HOST is set; otherwise a sender that only logs kind and booking id."""
    if settings.smtp_host is None:
        return LogEmailSender()
    assert settings.smtp_from is not None  # settings refuse SMTP_HOST without SMTP_FROM
    return SmtpEmailSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.smtp_from,
        username=settings.smtp_username,
        password=settings.smtp_password,
        starttls=settings.smtp_starttls,
    )


def build_notifications(settings: Settings, database: Database) -> NotificationService:
    return NotificationService(
        database=database,
        sender=email_sender(settings),
        coach_timezone=settings.coach_timezone,
        message_domain=message_domain(settings.smtp_from),
    )
