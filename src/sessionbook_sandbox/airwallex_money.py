"""Amounts as Airwallex takes and returns them: decimal numbers in major units of a currency.

Airwallex's `amount` is a JSON number such as 165.15 (EUR), with at most as many decimals as the
currency's minor unit (https://www.airwallex.com/docs/payments/supported-currencies, which
follows ISO 4217). The stand-in keeps amounts as `Decimal` throughout and never converts to
integer cents: only the client does that, so a conversion mistake there shows up against it.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TypeGuard

# ISO 4217 exponents that differ from the usual 2 decimals.
_EXPONENT_BY_CURRENCY: dict[str, int] = {
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
    **dict.fromkeys(
        ("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX"), 0
    ),
    **dict.fromkeys(("UYI", "VND", "VUV", "XAF", "XOF", "XPF"), 0),
}
_DEFAULT_EXPONENT = 2
_CURRENCY_CODE = re.compile(r"[A-Z]{3}")
# A decimal of up to 15 significant digits survives the trip through a JSON (IEEE double)
# number unchanged, so answers can echo exactly what was sent.
_MAX_SIGNIFICANT_DIGITS = 15


def is_currency_code(value: object) -> TypeGuard[str]:
    """True for three upper-case ASCII letters, the shape of an ISO 4217 code."""
    return isinstance(value, str) and _CURRENCY_CODE.fullmatch(value) is not None


def currency_decimals(currency: str) -> int:
    """Decimals an amount in `currency` may have: JPY 0, EUR 2, KWD 3."""
    return _EXPONENT_BY_CURRENCY.get(currency, _DEFAULT_EXPONENT)


def has_too_many_decimals(amount: Decimal, currency: str) -> bool:
    """True for 10.005 EUR or 1.5 JPY; trailing zeros (10.50 EUR) do not count."""
    in_minor_units = amount.scaleb(currency_decimals(currency))
    return in_minor_units != in_minor_units.to_integral_value()


def is_too_precise_for_json(amount: Decimal) -> bool:
    """True when the amount has more significant digits than a JSON number keeps exactly."""
    return len(amount.normalize().as_tuple().digits) > _MAX_SIGNIFICANT_DIGITS


def to_json_number(amount: Decimal) -> int | float:
    """The amount as a JSON-encodable number that reads back as exactly `amount`."""
    if amount == amount.to_integral_value():
        return int(amount)
    number = float(amount)
    if Decimal(str(number)) != amount:
        raise ValueError(f"{amount} has no exact JSON number form")
    return number


def display_amount(amount: Decimal, currency: str) -> str:
    """'1,234.50 EUR' on the hosted payment page."""
    decimals = currency_decimals(currency)
    return f"{amount:,.{decimals}f} {currency}"
