"""The details form: its fields, checked by the very model the API uses, with human messages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from sessionbook.bookings.schemas import CreateBookingRequest
from sessionbook.core.i18n import gettext as _

# Form field name -> the API's camelCase field, so the same rules give the same verdicts.
FIELDS = {
    "package": "packageId",
    "name": "customerName",
    "email": "customerEmail",
    "phone": "customerPhone",
    "notes": "notes",
}
_API_TO_FORM = {api: form for form, api in FIELDS.items()}
_LIMITS = {"name": 100, "email": 255, "phone": 40, "notes": 1000}


@dataclass
class DetailsForm:
    """What the customer typed, kept as typed so an error never loses their input."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def empty(cls, package_id: str) -> DetailsForm:
        return cls(values=dict.fromkeys(FIELDS, "") | {"package": package_id})

    @classmethod
    def from_submission(cls, submitted: dict[str, Any]) -> DetailsForm:
        values = {}
        for name in FIELDS:
            raw = submitted.get(name, "")
            values[name] = raw if isinstance(raw, str) else ""
        return cls(values=values)

    def validate(self) -> CreateBookingRequest | None:
        """The API request these values make, or None with `errors` filled in."""
        body: dict[str, Any] = {}
        for name, api_name in FIELDS.items():
            value = self.values[name]
            if name in ("phone", "notes") and not value.strip():
                continue  # optional: an empty box means "not given"
            body[api_name] = value
        try:
            return CreateBookingRequest.model_validate(body)
        except ValidationError as exc:
            self.errors = _messages(exc)
            return None


def _messages(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        location = error.get("loc", ())
        api_name = str(location[0]) if location else "packageId"
        form_name = _API_TO_FORM.get(api_name, "package")
        errors.setdefault(form_name, _message(form_name, error))
    return errors


def _message(form_name: str, error: Any) -> str:
    kind = str(error.get("type", ""))
    context = error.get("ctx") or {}
    if form_name == "package":
        return _("Choose one of the packages.")
    if kind == "missing" or (kind == "string_too_short" and form_name != "name"):
        return _required(form_name)
    if kind == "string_too_short":
        if not str(error.get("input", "")).strip():
            return _required(form_name)
        least = _("Please enter at least %(num)s characters.")
        return least % {"num": context.get("min_length", 2)}
    if kind == "string_too_long":
        return _at_most(context.get("max_length", _LIMITS.get(form_name)))
    message = str(error.get("msg", ""))
    if "control characters" in message:
        return _("Please remove the special (control) characters.")
    if form_name == "email":
        if "at most" in message:
            return _at_most(_LIMITS["email"])
        return _("Please enter a valid email address, like name@example.com.")
    return _("Please check this field.")


def _at_most(limit: object) -> str:
    return _("Please use at most %(num)s characters.") % {"num": limit}


def _required(form_name: str) -> str:
    if form_name == "name":
        return _("Please enter your name.")
    if form_name == "email":
        return _("Please enter your email address.")
    return _("Please fill in this field.")
