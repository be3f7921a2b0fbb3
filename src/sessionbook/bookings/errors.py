"""Errors of the booking domain: finding a booking by its token, and what its state allows."""

from __future__ import annotations

from sessionbook.core.errors import ServiceError, TokenNotRecognised


class BookingNotFound(TokenNotRecognised):
    status_code = 404
    code = "booking_not_found"
    default_message = "No booking matches this link. Check that the link is complete."


class BookingExpired(ServiceError):
    status_code = 410
    code = "booking_expired"
    default_message = "This booking has expired. Please start a new booking."


class PaymentRequired(ServiceError):
    status_code = 402
    code = "payment_required"
    default_message = "This booking is not paid yet. Complete the payment first."


class BookingNotSchedulable(ServiceError):
    status_code = 409
    code = "booking_not_schedulable"
    default_message = "This booking is already scheduled or cancelled."
