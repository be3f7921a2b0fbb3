"""The coach's package form: typed text to a `PackageDraft`, or errors naming each field."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sessionbook.catalog.models import Package
from sessionbook.catalog.service import PackageDraft
from sessionbook.payments.airwallex.money import (
    MoneyError,
    amount_to_cents,
    cents_to_amount,
    minor_units,
)

FIELDS = (
    "id",
    "title",
    "description",
    "price",
    "duration_minutes",
    "sessions",
    "valid_days",
    "cal_event_type_id",
    "active",
)
# The service names a field by its attribute; the form by its input.
SERVICE_TO_FORM = {"price_cents": "price"}
_WHOLE_NUMBER = re.compile(r"^[0-9]{1,9}$")


@dataclass
class PackageForm:
    """What was typed (kept as typed, to show again) and what is wrong with it."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_submission(cls, submitted: dict[str, str]) -> PackageForm:
        values = {name: submitted.get(name, "").strip() for name in FIELDS}
        values["active"] = "on" if submitted.get("active") else ""
        return cls(values=values)

    @classmethod
    def blank(cls) -> PackageForm:
        values = dict.fromkeys(FIELDS, "")
        values.update(duration_minutes="60", sessions="1", active="on")
        return cls(values=values)

    @classmethod
    def of(cls, package: Package) -> PackageForm:
        try:
            price = str(cents_to_amount(package.price_cents, package.currency))
        except MoneyError:
            price = str(package.price_cents)
        return cls(
            values={
                "id": package.id,
                "title": package.title,
                "description": package.description,
                "price": price,
                "duration_minutes": str(package.duration_minutes),
                "sessions": str(package.sessions),
                "valid_days": "" if package.valid_days is None else str(package.valid_days),
                "cal_event_type_id": str(package.cal_event_type_id),
                "active": "on" if package.active else "",
            }
        )

    def add_service_errors(self, fields: dict[str, str]) -> None:
        for name, message in fields.items():
            self.errors.setdefault(SERVICE_TO_FORM.get(name, name), message)

    def draft(self, currency: str) -> PackageDraft | None:
        """The numbers these values make, or None with `errors` filled in."""
        price_cents = self._price(currency)
        duration = self._whole_number("duration_minutes")
        sessions = self._whole_number("sessions")
        event_type = self._whole_number("cal_event_type_id")
        valid_days = self._whole_number("valid_days") if self.values["valid_days"] else None
        if (
            self.errors
            or price_cents is None
            or duration is None
            or sessions is None
            or event_type is None
        ):
            return None
        return PackageDraft(
            title=self.values["title"],
            description=self.values["description"],
            price_cents=price_cents,
            duration_minutes=duration,
            sessions=sessions,
            valid_days=valid_days,
            cal_event_type_id=event_type,
            active=self.values["active"] == "on",
        )

    def _price(self, currency: str) -> int | None:
        typed = self.values["price"]
        decimals = minor_units(currency)
        example = "150" if decimals == 0 else "150." + "0" * decimals
        if typed.startswith("-"):
            self.errors["price"] = "must not be negative"
            return None
        shape = r"^[0-9]{1,9}$" if decimals == 0 else rf"^[0-9]{{1,9}}(\.[0-9]{{1,{decimals}}})?$"
        if not re.fullmatch(shape, typed):
            self.errors["price"] = (
                f"must be an amount in {currency} like {example} "
                f"(at most {decimals} decimals, no currency sign)"
            )
            return None
        try:
            return amount_to_cents(typed, currency)
        except MoneyError:
            self.errors["price"] = f"must be an amount in {currency} like {example}"
            return None

    def _whole_number(self, name: str) -> int | None:
        typed = self.values[name]
        if not _WHOLE_NUMBER.fullmatch(typed):
            self.errors[name] = "must be a whole number" if typed else "is required"
            return None
        return int(typed)
