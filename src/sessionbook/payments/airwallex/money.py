"""Exact conversion between integer minor units ("cents") and Airwallex's decimal amounts.

Airwallex takes and returns `amount` as a JSON number in major units (e.g. 165.15 EUR), with
as many decimals as the currency's minor unit allows ("Please refer to supported currencies
for supported minor units", https://www.airwallex.com/docs/payments/supported-currencies).
We keep money as integer minor units everywhere else and convert only here, with `Decimal`,
refusing any value that cannot be represented exactly instead of rounding it. The ISO 4217
minor units themselves live in `core.money`, shared with the prices people read.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sessionbook.core.money import MoneyError, minor_units, normalise_currency

# Far above any real price, far below float precision trouble (2**53) for the JSON encoding.
MAX_MINOR_UNITS = 10**15

__all__ = [
    "MAX_MINOR_UNITS",
    "MoneyError",
    "amount_to_cents",
    "cents_to_amount",
    "json_number",
    "minor_units",
    "normalise_currency",
]


def cents_to_amount(amount_cents: int, currency: str) -> Decimal:
    """Integer minor units to the decimal major-unit amount Airwallex takes (1999 USD: 19.99)."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int):
        raise MoneyError(f"amount in minor units must be an int, got {amount_cents!r}")
    if amount_cents < 0 or amount_cents > MAX_MINOR_UNITS:
        raise MoneyError(f"amount out of range: {amount_cents}")
    return Decimal(amount_cents).scaleb(-minor_units(currency))


def amount_to_cents(amount: Decimal | int | str | float, currency: str) -> int:
    """Decimal major-unit amount to integer minor units; MoneyError if it has too many decimals."""
    decimal_amount = _to_decimal(amount)
    scaled = decimal_amount.scaleb(minor_units(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"{amount} {currency} has more decimals than the currency allows")
    cents = int(scaled)
    if cents < 0 or cents > MAX_MINOR_UNITS:
        raise MoneyError(f"amount out of range: {amount}")
    return cents


def json_number(amount: Decimal) -> int | float:
    """A JSON-encodable number that decodes back to exactly `amount`.

    The standard json encoder has no Decimal support; a float is exact enough only because
    `repr(float)` is the shortest round-tripping text, which we check rather than assume.
    """
    if amount == amount.to_integral_value():
        return int(amount)
    as_float = float(amount)
    if Decimal(repr(as_float)) != amount:
        raise MoneyError(f"{amount} cannot be sent as a JSON number exactly")
    return as_float


def _to_decimal(amount: Decimal | int | str | float) -> Decimal:
    if isinstance(amount, bool):
        raise MoneyError(f"not an amount: {amount!r}")
    try:
        # For a float, repr is the shortest text that round-trips, i.e. what the JSON said.
        decimal_amount = Decimal(repr(amount)) if isinstance(amount, float) else Decimal(amount)
    except (InvalidOperation, ValueError, TypeError) as exc:
        raise MoneyError(f"not an amount: {amount!r}") from exc
    if not decimal_amount.is_finite():
        raise MoneyError(f"not a finite amount: {amount!r}")
    return decimal_amount
