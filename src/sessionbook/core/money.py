"""Money as people read it: integer minor units in, a Babel-formatted price out.

Amounts are integer minor units everywhere; how many minor units make a major unit is ISO 4217's
answer (the one Airwallex uses), kept here so display and wire conversion agree. Babel's own
CLDR digits differ for a few currencies (IQD has 3 in ISO 4217, 0 in CLDR), so the pattern is
given ISO's digits rather than CLDR's.
"""

from __future__ import annotations

import re
from copy import copy
from decimal import Decimal

from babel.core import Locale
from babel.numbers import get_currency_symbol, parse_pattern

# ISO 4217 minor units that differ from the common 2.
_ZERO_DECIMAL = frozenset(
    {
        "BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG",
        "RWF", "UGX", "UYI", "VND", "VUV", "XAF", "XOF", "XPF",
    }
)  # fmt: skip
_THREE_DECIMAL = frozenset({"BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"})
_FOUR_DECIMAL = frozenset({"CLF", "UYW"})
_CURRENCY_CODE = re.compile(r"^[A-Z]{3}$")
# CLDR's currencySpacing (which Babel does not apply): a symbol ending in a letter, such as
# "CHF", is kept apart from the digits that follow it by a no-break space.
_SPACING = "\u00a0"


class MoneyError(ValueError):
    """An amount or currency that cannot be converted exactly."""


def normalise_currency(currency: str) -> str:
    """Upper-case ISO 4217 code, or MoneyError."""
    code = currency.strip().upper() if isinstance(currency, str) else ""
    if not _CURRENCY_CODE.match(code):
        raise MoneyError(f"not an ISO 4217 currency code: {currency!r}")
    return code


def minor_units(currency: str) -> int:
    """How many decimals the currency's amounts have (JPY 0, USD 2, KWD 3)."""
    code = normalise_currency(currency)
    if code in _ZERO_DECIMAL:
        return 0
    if code in _THREE_DECIMAL:
        return 3
    if code in _FOUR_DECIMAL:
        return 4
    return 2


def format_money(amount_cents: int, currency: str, locale: str = "en") -> str:
    """15000 USD is "$150.00", 50000 JPY "¥50,000", 99900 CHF "CHF 999.00" (in `en`).

    Never fails: an amount with a currency code that is not one reads as its raw minor units,
    so a page or an email about a broken row still shows what is there.
    """
    try:
        code = normalise_currency(currency)
    except MoneyError:
        return f"{amount_cents} {currency} (minor units)"
    digits = minor_units(code)
    where = Locale.parse(locale)
    pattern = copy(parse_pattern(where.currency_formats["standard"]))
    pattern.frac_prec = (digits, digits)
    text: str = pattern.apply(
        Decimal(amount_cents).scaleb(-digits), where, currency=code, currency_digits=False
    )
    symbol = get_currency_symbol(code, where)
    head, _, rest = text.partition(symbol)
    if symbol[-1:].isalpha() and rest[:1].isdigit():
        return f"{head}{symbol}{_SPACING}{rest}"
    return text


def format_charge(amount_cents: int, currency: str) -> str:
    """What a booking or package costs in the operator's lists: "free" for nothing, else money."""
    return "free" if amount_cents == 0 else format_money(amount_cents, currency)


def payment_label(payment_status: str, amount_cents: int) -> str:
    """A booking's payment as operators read it: a free one was never paid, it is "free".

    The API keeps the contract's `paymentStatus=paid`, `amountCents=0` for it.
    """
    return "free" if amount_cents == 0 else payment_status
