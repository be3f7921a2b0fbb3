"""The brand's one row: names, bio, colour, contact, language and the re-encoded photo."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, deferred, mapped_column

from sessionbook.core.db import Base, UTCDateTime, utcnow

# The only id the table allows: there is one brand per install.
BRAND_ROW_ID = 1
NAME_MAX_LENGTH = 100
BIO_MAX_LENGTH = 500
EMAIL_MAX_LENGTH = 254


class Brand(Base):
    """The coach's brand as saved in the admin; the migration seeds it with neutral defaults."""

    __tablename__ = "brand"
    __table_args__ = (
        CheckConstraint(f"id = {BRAND_ROW_ID}", name="single_row"),
        CheckConstraint("length(accent_color) = 7", name="accent_color_shape"),
        CheckConstraint(
            "(photo IS NULL) = (photo_version IS NULL) "
            "AND (photo IS NULL) = (photo_content_type IS NULL)",
            name="photo_complete",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, default=BRAND_ROW_ID)
    business_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    coach_name: Mapped[str] = mapped_column(String(NAME_MAX_LENGTH))
    bio: Mapped[str] = mapped_column(Text)
    accent_color: Mapped[str] = mapped_column(String(7))
    support_email: Mapped[str | None] = mapped_column(String(EMAIL_MAX_LENGTH))
    default_language: Mapped[str] = mapped_column(String(16))
    # Loaded only when asked for: every page reads the brand, only /brand/photo its bytes.
    photo: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    photo_content_type: Mapped[str | None] = mapped_column(String(40))
    # sha256 (hex) of the stored bytes: it versions the photo's URL.
    photo_version: Mapped[str | None] = mapped_column(String(64))
    # False until the coach first saves the brand in the admin.
    configured: Mapped[bool] = mapped_column(Boolean)
    updated_by: Mapped[str] = mapped_column(String(100))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
