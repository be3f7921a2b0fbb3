"""Minor units <-> Airwallex decimal amounts: exact, per currency, never silently rounded."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sessionbook.payments.airwallex.money import (
    MAX_MINOR_UNITS,
    MoneyError,
    amount_to_cents,
    cents_to_amount,
    json_number,
    minor_units,
)

CURRENCIES = ["USD", "EUR", "SGD", "JPY", "KRW", "KWD", "BHD", "TND", "CLF"]


@pytest.mark.parametrize(
    ("cents", "currency", "amount"),
    [
        (1999, "USD", Decimal("19.99")),
        (100, "EUR", Decimal("1.00")),
        (5000, "JPY", Decimal("5000")),
        (1, "KRW", Decimal("1")),
        (1234, "KWD", Decimal("1.234")),
        (5, "BHD", Decimal("0.005")),
        (0, "USD", Decimal("0.00")),
    ],
)
def test_cents_become_the_decimal_amount_airwallex_expects(
    cents: int, currency: str, amount: Decimal
) -> None:
    assert cents_to_amount(cents, currency) == amount
    assert amount_to_cents(amount, currency) == cents


def test_minor_units_follow_iso_4217() -> None:
    assert [minor_units(code) for code in ("USD", "jpy", "KWD", "CLF", "XYZ")] == [2, 0, 3, 4, 2]


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        (Decimal("19.999"), "USD"),
        (Decimal("1.5"), "JPY"),
        (Decimal("0.0001"), "KWD"),
        ("12.345", "EUR"),
        (0.1 + 0.2, "USD"),  # 0.30000000000000004: refused, never rounded to 30 cents
    ],
)
def test_amounts_finer_than_the_currency_are_refused(
    amount: Decimal | str | float, currency: str
) -> None:
    with pytest.raises(MoneyError):
        amount_to_cents(amount, currency)


@pytest.mark.parametrize("bad", [-1, True, 1.5, MAX_MINOR_UNITS + 1])
def test_cents_must_be_a_sane_non_negative_int(bad: object) -> None:
    with pytest.raises(MoneyError):
        cents_to_amount(bad, "USD")  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["", "US", "usd1", "12€", None])
def test_currency_codes_are_checked(bad: object) -> None:
    with pytest.raises(MoneyError):
        minor_units(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", True, float("inf")])
def test_non_amounts_are_refused(bad: object) -> None:
    with pytest.raises(MoneyError):
        amount_to_cents(bad, "USD")  # type: ignore[arg-type]


def test_a_float_from_json_converts_exactly() -> None:
    assert amount_to_cents(19.99, "USD") == 1999
    assert amount_to_cents(165.15, "EUR") == 16515
    assert amount_to_cents(5000, "JPY") == 5000


@given(
    cents=st.integers(min_value=0, max_value=MAX_MINOR_UNITS),
    currency=st.sampled_from(CURRENCIES),
)
def test_round_trip_through_airwallex_json_is_exact(cents: int, currency: str) -> None:
    amount = cents_to_amount(cents, currency)
    assert amount_to_cents(amount, currency) == cents
    # What we send is a plain JSON number; what Airwallex would read back must be the same.
    wire = json.dumps({"amount": json_number(amount)})
    assert amount_to_cents(json.loads(wire, parse_float=Decimal)["amount"], currency) == cents
    assert amount_to_cents(json.loads(wire)["amount"], currency) == cents
