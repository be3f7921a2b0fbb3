"""The one money formatter: Babel's standard form in `en`, ISO 4217 minor units in."""

from __future__ import annotations

import pytest

from sessionbook.core.money import format_money


@pytest.mark.parametrize(
    ("cents", "currency", "shown"),
    [
        (15000, "USD", "$150.00"),
        (0, "USD", "$0.00"),
        (-150, "USD", "-$1.50"),
        (15000, "usd", "$150.00"),
        (50000, "JPY", "¥50,000"),  # no minor units: 50000 is fifty thousand yen
        (1500, "IQD", "IQD\u00a01.500"),  # ISO 4217 says 3 decimals where CLDR says none
        (15000, "AUD", "A$150.00"),
        (99900, "CHF", "CHF\u00a0999.00"),
    ],
)
def test_minor_units_become_the_price_people_read(cents: int, currency: str, shown: str) -> None:
    assert format_money(cents, currency) == shown


def test_other_locales_place_symbol_and_separators_their_way() -> None:
    assert format_money(123456, "EUR", locale="de") == "1.234,56\u00a0€"


def test_a_broken_currency_still_shows_what_is_there() -> None:
    assert format_money(1999, "dollars") == "1999 dollars (minor units)"
