"""Booking use cases: create, look up by token, expire; the only place with booking rules."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog

from sessionbook.bookings.errors import BookingNotFound
from sessionbook.bookings.models import Booking, BookingSession, BookingStatus, PaymentStatus
from sessionbook.bookings.ports import (
    BookingNews,
    PaymentLinkCreator,
    PaymentLinkFailed,
    StalePaymentRefresher,
)
from sessionbook.bookings.repository import BookingRepository, read_status
from sessionbook.bookings.schemas import CreateBookingRequest
from sessionbook.bookings.sessions import (
    live_sessions,
    next_session,
    sessions_remaining,
    valid_until,
)
from sessionbook.bookings.tokens import hash_token, hashes_match, is_well_formed, new_token
from sessionbook.bookings.transitions import expiry_due, record_change
from sessionbook.catalog.models import Package
from sessionbook.catalog.repository import PackageRepository
from sessionbook.core import i18n
from sessionbook.core.db import SERVICE, Actor, Database, utcnow
from sessionbook.core.errors import ProviderUnavailable, ValidationFailed

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CreatedBooking:
    token: str
    booking: Booking


@dataclass(frozen=True, slots=True)
class BookingStatusView:
    """A booking with its live sessions (by start), read together, as booking-status shows it."""

    booking: Booking
    sessions: list[BookingSession]

    @property
    def sessions_remaining(self) -> int:
        return sessions_remaining(self.booking, len(self.sessions))

    def next_session(self, now: datetime) -> BookingSession | None:
        """The next session not ended, else the last; what the top-level fields describe."""
        return next_session(self.sessions, now)


class BookingService:
    """Creates bookings and answers for them; every change goes through `record_change`."""

    def __init__(
        self,
        *,
        database: Database,
        payment_links: PaymentLinkCreator,
        refresh_stale_payment: StalePaymentRefresher,
        news: BookingNews,
        payment_window: timedelta,
        scheduling_window: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.database = database
        self.payment_links = payment_links
        # A read of a pending booking not checked for a while asks the provider (briefly) in
        # case a webhook was lost.
        self.refresh_stale_payment = refresh_stale_payment
        self.news = news
        self.payment_window = payment_window
        self.scheduling_window = scheduling_window
        self.clock = clock

    async def create(
        self, request: CreateBookingRequest, *, locale: str | None = None
    ) -> CreatedBooking:
        """Store the booking first, then ask Airwallex for its payment link.

        `locale` is the customer's language (the page's, or the API request's), which the
        booking keeps for its emails.

        The row exists before any provider call, so a crash leaves a trace, never a payable
        link without a booking. If Airwallex fails the booking is closed with an audit row
        and the caller gets `provider_unavailable`; a retry starts a clean new booking.
        """
        token = new_token()
        token_hash = hash_token(token)
        now = self.clock()
        actor = Actor.customer(token_hash)
        async with self.database.transaction(actor) as session:
            # Read in the booking's own transaction: the figures copied are the ones on sale.
            package = await PackageRepository(session).active_by_id(request.package_id)
            if package is None:
                raise ValidationFailed(
                    "There is no package with this id on sale.",
                    fields={"packageId": "must be the id of an active package"},
                )
            booking = _new_booking(request, package, token_hash, now, self._window(package), locale)
            repository = BookingRepository(session)
            await repository.add(booking)
            await repository.add_event(
                booking,
                event_type="booking_created",
                source="customer",
                from_status=None,
                to_status=booking.status,
                data={"packageId": package.id, "amountCents": package.price_cents},
                at=now,
            )
        free = not package.requires_payment
        if free:
            log.info("booking_created", booking_id=str(booking.id), package_id=package.id)
            return CreatedBooking(token=token, booking=booking)
        return CreatedBooking(
            token=token, booking=await self._attach_payment_link(booking, package, actor)
        )

    def _window(self, package: Package) -> timedelta:
        return self.payment_window if package.requires_payment else self.scheduling_window

    async def _attach_payment_link(
        self, booking: Booking, package: Package, actor: Actor
    ) -> Booking:
        try:
            link = await self.payment_links.create_link(
                booking,
                title=package.title,
                description=package.description,
                expires_at=booking.expires_at,
            )
        except PaymentLinkFailed as exc:
            log.warning("payment_link_failed", booking_id=str(booking.id), provider_code=exc.code)
            async with self.database.transaction(actor) as session:
                repository = BookingRepository(session)
                locked = await repository.by_id(booking.id, for_update=True)
                if locked is not None:
                    await record_change(
                        repository,
                        locked,
                        event_type="payment_link_failed",
                        source="system",
                        now=self.clock(),
                        status=BookingStatus.CANCELLED,
                        data={"providerCode": exc.code},
                    )
            raise ProviderUnavailable(
                "The payment provider is not answering, so no booking was made. "
                "Nothing was charged; please try again."
            ) from exc
        async with self.database.transaction(actor) as session:
            repository = BookingRepository(session)
            locked = await repository.by_id(booking.id, for_update=True)
            assert locked is not None  # we created it a moment ago under the same token
            locked.payment_link_id = link.id
            locked.payment_url = link.url
            await record_change(
                repository,
                locked,
                event_type="payment_link_created",
                source="system",
                now=self.clock(),
                data={"paymentLinkId": link.id},
            )
        log.info("booking_created", booking_id=str(booking.id), package_id=booking.package_id)
        return locked

    async def find_by_token(self, token: str) -> Booking:
        """The booking a token opens, expired first if its time has come.

        Unknown and malformed tokens are the same 404, so a guesser learns nothing.
        """
        booking, _ = await self._find(token, with_sessions=False)
        return booking

    async def status_of(self, token: str) -> BookingStatusView:
        """The booking a token opens (as `find_by_token`) with its live sessions."""
        booking, sessions = await self._find(token, with_sessions=True)
        return BookingStatusView(booking=booking, sessions=sessions)

    async def _find(
        self, token: str, *, with_sessions: bool
    ) -> tuple[Booking, list[BookingSession]]:
        if not is_well_formed(token):
            raise BookingNotFound()
        token_hash = hash_token(token)
        actor = Actor.customer(token_hash)
        # The common case, a read that changes nothing, takes a light read path first: on
        # PostgreSQL one statement without the ORM (most of booking-status's cost), on SQLite
        # without the write lock (bench/RESULTS.md). A booking due to expire takes the locked
        # path below.
        found: Booking | None
        sessions: list[BookingSession] = []
        if self.database.is_sqlite:
            async with self.database.sqlite_read_transaction() as session:
                repository = BookingRepository(session)
                found = await repository.by_token_hash(token_hash)
                if found is not None and with_sessions:
                    sessions = await repository.sessions_of(found.id)
        else:
            # One round trip: the function takes the customer role and token hash itself.
            read = await self.database.single_statement(
                lambda driver: read_status(driver, token_hash)
            )
            found = None
            if read is not None:
                found, read_sessions = read
                if with_sessions:
                    sessions = read_sessions
        if found is None or not hashes_match(found.token_hash, token):
            raise BookingNotFound()
        if expiry_due(found, self.clock()):
            found = None
        if found is not None:
            booking = found
        else:
            async with self.database.transaction(actor) as session:
                repository = BookingRepository(session)
                current = await repository.by_token_hash(token_hash)
                if current is None or not hashes_match(current.token_hash, token):
                    raise BookingNotFound()
                now = self.clock()
                if expiry_due(current, now):
                    current = await repository.by_token_hash(token_hash, for_update=True)
                    assert current is not None
                    await self._expire(repository, current, now, source="customer")
                booking = current
                if with_sessions:
                    sessions = await repository.sessions_of(booking.id)
        return await self.refresh_stale_payment(booking), live_sessions(sessions)

    async def expire_due(self, *, batch_size: int = 200) -> int:
        """Expire every booking whose window has passed; safe to run on several hosts."""
        expired = 0
        while True:
            async with self.database.transaction(SERVICE) as session:
                repository = BookingRepository(session)
                now = self.clock()
                due = await repository.due_for_expiry(now, limit=batch_size)
                for booking in due:
                    if await self._expire(repository, booking, now, source="sweep"):
                        expired += 1
            if len(due) < batch_size:
                return expired

    async def lapse_due(self, *, batch_size: int = 200) -> int:
        """Sweep duty: at sessionsValidUntil the sessions not booked lapse; safe on several hosts.

        One audit row per booking with the count; a booking left with no session at all
        expires, one with every remaining session booked is `scheduled`.
        """
        lapsed = 0
        while True:
            lapsed_in_batch = 0
            async with self.database.transaction(SERVICE) as session:
                repository = BookingRepository(session)
                now = self.clock()
                due = await repository.due_for_lapse(now, limit=batch_size)
                for booking in due:
                    live = await repository.sessions_of(booking.id)
                    count = sessions_remaining(booking, len(live))
                    if count == 0:
                        continue
                    booking.sessions_lapsed += count
                    await record_change(
                        repository,
                        booking,
                        event_type="sessions_lapsed",
                        source="sweep",
                        now=now,
                        status=BookingStatus.SCHEDULED if live else BookingStatus.EXPIRED,
                        data={
                            "lapsed": count,
                            "sessionsValidUntil": booking.sessions_valid_until.isoformat()
                            if booking.sessions_valid_until
                            else None,
                        },
                    )
                    lapsed_in_batch += 1
            lapsed += lapsed_in_batch
            # A full batch with nothing left to lapse would come back unchanged: stop there.
            if len(due) < batch_size or lapsed_in_batch == 0:
                return lapsed

    async def expire_if_due(
        self, repository: BookingRepository, booking: Booking, now: datetime, *, source: str
    ) -> bool:
        """Expire `booking` (locked by the caller) if its window has passed; True if it did."""
        return await self._expire(repository, booking, now, source=source)

    async def _expire(
        self, repository: BookingRepository, booking: Booking, now: datetime, *, source: str
    ) -> bool:
        if not expiry_due(booking, now):
            return False
        await record_change(
            repository,
            booking,
            event_type="booking_expired",
            source=source,
            now=now,
            status=BookingStatus.EXPIRED,
            data={"expiresAt": booking.expires_at.isoformat()},
        )
        # With the change, or not at all.
        await self.news.booking_expired(repository.session, booking)
        log.info("booking_expired", booking_id=str(booking.id), source=source)
        return True


def _new_booking(
    request: CreateBookingRequest,
    package: Package,
    token_hash: str,
    now: datetime,
    window: timedelta,
    locale: str | None,
) -> Booking:
    """A booking with its own copy of the package: price, title, duration, sessions, validity."""
    free = not package.requires_payment
    return Booking(
        id=uuid.uuid4(),
        token_hash=token_hash,
        package_id=package.id,
        package_title=package.title,
        duration_minutes=package.duration_minutes,
        sessions_total=package.sessions,
        valid_days=package.valid_days,
        amount_cents=package.price_cents,
        refunded_cents=0,
        currency=package.currency,
        customer_name=request.customer_name,
        customer_email=str(request.customer_email),
        customer_phone=request.customer_phone or None,
        customer_locale=i18n.supported(locale),
        notes=request.notes or None,
        booking_metadata=dict(request.metadata or {}),
        status=(BookingStatus.PAID if free else BookingStatus.PENDING).value,
        payment_status=(PaymentStatus.PAID if free else PaymentStatus.PENDING).value,
        cal_event_type_id=package.cal_event_type_id,
        expires_at=now + window,
        created_at=now,
        updated_at=now,
        paid_at=now if free else None,
        sessions_valid_until=valid_until(now, package.valid_days) if free else None,
        sessions_lapsed=0,
    )
