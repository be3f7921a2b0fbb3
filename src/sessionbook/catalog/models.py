"""Tables of the catalog: the packages on sale and the append-only trail of their changes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from sessionbook.core.db import Base, UTCDateTime, utcnow

JSONType = JSON().with_variant(JSON(none_as_null=True), "postgresql")

PACKAGE_ID_MAX_LENGTH = 40


class Package(Base):
    """One thing a customer can buy; bookings copy what they need of it when they are made."""

    __tablename__ = "packages"
    __table_args__ = (
        CheckConstraint("price_cents >= 0", name="price_not_negative"),
        CheckConstraint("sessions >= 1 AND sessions <= 100", name="sessions_range"),
        CheckConstraint("valid_days IS NULL OR valid_days >= 1", name="valid_days_positive"),
        CheckConstraint("duration_minutes >= 5 AND duration_minutes <= 480", name="duration_range"),
        CheckConstraint("length(currency) = 3", name="currency_code"),
        CheckConstraint("cal_event_type_id > 0", name="event_type_positive"),
        Index("ix_packages_position", "position"),
    )

    id: Mapped[str] = mapped_column(String(PACKAGE_ID_MAX_LENGTH), primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text)
    price_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    sessions: Mapped[int] = mapped_column(Integer)
    valid_days: Mapped[int | None] = mapped_column(Integer)
    cal_event_type_id: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean)
    position: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def requires_payment(self) -> bool:
        return self.price_cents > 0


class PackageChange(Base):
    """One line of a package's history: who changed what, when, before and after."""

    __tablename__ = "package_changes"
    __table_args__ = (Index("ix_package_changes_package_id_id", "package_id", "id"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    package_id: Mapped[str] = mapped_column(
        String(PACKAGE_ID_MAX_LENGTH), ForeignKey("packages.id", ondelete="RESTRICT")
    )
    action: Mapped[str] = mapped_column(String(20))
    changed_by: Mapped[str] = mapped_column(String(100))
    client_address: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    after: Mapped[dict[str, Any]] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
