"""A known set of bookings around the spring DST change in Paris, and the figures it must give.

Three weeks, Mondays 16, 23 and 30 March 2026; on Sunday 29 March Paris moves from UTC+1 to
UTC+2, so the middle week is 167 hours long. Rows near its ends fall on the other side of a
week boundary than a fixed UTC+1 (or UTC+2) offset would put them.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sessionbook.bookings.models import Booking, BookingSession, SessionState
from sessionbook.core.db import SERVICE, Database
from sessionbook.payments.models import PaymentRefund

ZONE = "Europe/Paris"
FIRST_DAY = "2026-03-16"
LAST_DAY = "2026-04-05"
SNAPSHOTS = {
    "single": ("Single session", 60, 1, None, 1002),
    "discovery": ("Discovery call", 30, 1, None, 1001),
    "monthly": ("Monthly package", 60, 4, 31, 1003),
}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@dataclass
class Seeded:
    upcoming_customer: str
    upcoming_start: datetime


# What the period must show, week by week: (Monday, created, paid, scheduled, cancelled,
# expired, gross, refunded, net) with money in USD cents.
WEEKS = [
    ("2026-03-16", 3, 2, 1, 0, 1, 30000, 0, 30000),
    ("2026-03-23", 2, 2, 0, 0, 0, 50000, 10000, 40000),
    ("2026-03-30", 2, 1, 1, 1, 1, 0, 15000, -15000),
]
TOTALS = (7, 5, 2, 1, 2, 80000, 25000, 55000)
FUNNEL = [("Created", 7, 0), ("Paid", 5, 2), ("Scheduled", 2, 3)]  # (step, count, dropped)
# Paid -> first live session: 168,900 s, 204,900 s and 169,080 s.
MEDIAN_SECONDS = 169_080
# Package, gross, refunded, net (USD cents), largest net first.
PACKAGES = [
    ("Monthly package", 50000, 10000, 40000),
    ("Single session", 30000, 15000, 15000),
    ("Discovery call", 0, 0, 0),
]
# (weekday Monday=0, hour in Paris): live sessions of the period.
HEAT = {(2, 10): 1, (3, 18): 1, (0, 18): 1, (3, 10): 1}


async def seed_known_bookings(database: Database) -> Seeded:
    """Insert the set as the service would have left it (times in UTC)."""
    now = datetime.now(UTC).replace(microsecond=0)
    soon = (now + timedelta(days=3)).replace(minute=0, second=0)
    async with database.transaction(SERVICE) as session:

        def booking(package: str, amount: int, created: str, **fields: object) -> Booking:
            title, minutes, total, valid_days, event_type = SNAPSHOTS[package]
            made = utc(created) if created else now - timedelta(days=1)
            row = Booking(
                id=uuid.uuid4(),
                token_hash=hashlib.sha256(uuid.uuid4().bytes).hexdigest(),
                package_id=package,
                package_title=title,
                duration_minutes=minutes,
                sessions_total=total,
                valid_days=valid_days,
                amount_cents=amount,
                currency="USD",
                customer_name=f"Insight {package} {created or 'upcoming'}",
                customer_email=f"{uuid.uuid4().hex[:8]}@example.com",
                status="pending",
                payment_status="pending",
                cal_event_type_id=event_type,
                expires_at=made + timedelta(days=1),
                created_at=made,
                updated_at=made,
            )
            for name, value in fields.items():
                if isinstance(value, str) and name.endswith(("_at", "_until")):
                    value = utc(value)
                setattr(row, name, value)
            session.add(row)
            return row

        def booked(row: Booking, start: str | datetime, state: str = SessionState.BOOKED) -> None:
            begins = utc(start) if isinstance(start, str) else start
            session.add(
                BookingSession(
                    booking_id=row.id,
                    state=state,
                    start_time=begins,
                    end_time=begins + timedelta(hours=1),
                    cal_event_type_id=row.cal_event_type_id,
                    cal_booking_id=int(uuid.uuid4().int % 10**8) + 10**8,
                    cal_uid=f"insight-{uuid.uuid4().hex}",
                    created_at=begins - timedelta(days=1),
                    updated_at=begins - timedelta(days=1),
                )
            )

        def refund(row: Booking, cents: int, settled: str, status: str = "settled") -> None:
            session.add(
                PaymentRefund(
                    booking_id=row.id,
                    request_id=f"refund-{uuid.uuid4().hex}",
                    payment_intent_id="int_insight",
                    amount_cents=cents,
                    currency=row.currency,
                    reason="insight test",
                    status=status,
                    created_at=utc(settled) - timedelta(hours=1),
                    updated_at=utc(settled),
                )
            )

        paid = {"status": "scheduled", "payment_status": "paid"}
        first = booking(
            "single",
            15000,
            "2026-03-16 10:00",
            paid_at="2026-03-16 10:05",
            scheduled_at="2026-03-16 10:10",
            **paid,
        )
        booked(first, "2026-03-18 09:00")  # Wednesday 10:00 in Paris
        # Created and paid late on Sunday 22 March in Paris: still the first week.
        refunded = booking(
            "single",
            15000,
            "2026-03-22 22:30",
            paid_at="2026-03-22 22:40",
            cancelled_at="2026-03-29 22:30",
            status="cancelled",
            payment_status="refunded",
            refunded_cents=15000,
        )
        # Settled at 00:30 on Monday 30 March in Paris (summer time): the third week.
        refund(refunded, 15000, "2026-03-29 22:30")
        monthly = booking(
            "monthly",
            50000,
            "2026-03-24 08:00",
            paid_at="2026-03-24 08:05",
            status="paid",
            payment_status="paid",
            sessions_lapsed=2,
            sessions_valid_until="2026-04-24 08:05",
        )
        booked(monthly, "2026-03-26 17:00")  # Thursday 18:00 (winter time)
        booked(monthly, "2026-03-30 16:00")  # Monday 18:00 (summer time)
        booked(monthly, "2026-03-31 10:00", SessionState.CANCELLED)
        refund(monthly, 10000, "2026-03-25 12:00")
        refund(monthly, 5000, "2026-03-26 12:00", status="failed")
        euro = booking(
            "single",
            12000,
            "2026-03-31 09:00",
            paid_at="2026-03-31 09:02",
            scheduled_at="2026-03-31 09:03",
            **paid,
        )
        euro.currency = "EUR"
        booked(euro, "2026-04-02 08:00")  # Thursday 10:00 (summer time)
        booking(
            "single", 15000, "2026-03-17 12:00", status="expired", expired_at="2026-03-18 12:01"
        )
        # 23:59 on Sunday 29 March in Paris (summer time): the second week.
        booking(
            "discovery",
            0,
            "2026-03-29 21:59",
            paid_at="2026-03-29 21:59",
            status="paid",
            payment_status="paid",
        )
        # Midnight starting Monday 30 March in Paris: the third week.
        booking(
            "single", 15000, "2026-03-29 22:00", status="expired", expired_at="2026-03-30 22:01"
        )
        upcoming = booking("single", 15000, "", paid_at=None, **paid)
        upcoming.paid_at = now - timedelta(days=1)
        booked(upcoming, soon)
        booking("single", 15000, "2026-02-01 10:00", paid_at="2026-02-01 10:05", **paid)
    return Seeded(upcoming_customer=upcoming.customer_name, upcoming_start=soon)
