"""GET /v2/bookings of the Cal.com stand-in: its filters, statuses and pagination block."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sessionbook_sandbox.cal_inputs import ListQuery
from sessionbook_sandbox.cal_store import StoredBooking


def is_listed(booking: StoredBooking, query: ListQuery, now: datetime) -> bool:
    if query.statuses and not any(
        _has_list_status(booking, status, now) for status in query.statuses
    ):
        return False
    if query.attendee_email and booking.attendee_email.lower() != query.attendee_email.lower():
        return False
    if query.attendee_name and booking.attendee_name != query.attendee_name:
        return False
    if query.booking_uid and booking.uid != query.booking_uid:
        return False
    if query.event_type_ids and booking.event_type_id not in query.event_type_ids:
        return False
    if query.after_start and booking.start < query.after_start:
        return False
    return not (query.before_end and booking.end > query.before_end)


def _has_list_status(booking: StoredBooking, status: str, now: datetime) -> bool:
    cancelled = booking.status in {"cancelled", "rejected"}
    if status == "cancelled":
        return cancelled
    if status == "upcoming":
        return not cancelled and booking.end >= now
    if status == "past":
        return not cancelled and booking.end <= now
    if status == "unconfirmed":
        return booking.status == "pending" and booking.end >= now
    return False  # "recurring": the sandbox has no recurring bookings


def pagination(skip: int, take: int, total: int) -> dict[str, Any]:
    """Cal.com's getPagination()."""
    safe_skip = max(0, min(skip, total))
    total_pages = -(-total // take) if take else 0
    current = 0 if total_pages == 0 else max(1, min(safe_skip // take + 1, total_pages))
    return {
        "itemsReturned": max(0, min(total - safe_skip, take)),
        "totalItems": total,
        "itemsPerPage": take,
        "remainingItems": max(0, min(total - (safe_skip + take), total)),
        "currentPage": current,
        "totalPages": total_pages,
        "hasNextPage": safe_skip + take < total,
        "hasPreviousPage": safe_skip > 0,
    }
