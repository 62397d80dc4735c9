"""Money: integers in micro-units; decimal strings on the wire, never floats."""

from __future__ import annotations

import re
from decimal import ROUND_DOWN, Decimal

MICRO = 1_000_000
_AMOUNT = re.compile(r"^\d+(\.\d{1,6})?$")


class AmountError(ValueError):
    """An amount that is not a non-negative decimal with at most 6 decimals."""


def parse_amount(text: object) -> int:
    """``"5.00"`` -> 5_000_000. Rejects negatives, non-numbers and more than 6 decimals."""
    if not isinstance(text, str) or not _AMOUNT.match(text.strip()):
        raise AmountError(f"{text!r} is not an amount: a decimal string, >= 0, at most 6 decimals")
    return int(Decimal(text.strip()) * MICRO)


def price_to_micros(price: Decimal) -> int:
    """A card price (up to 9 decimals) in micro-units, rounded down to the micro-unit."""
    return int((price * MICRO).to_integral_value(rounding=ROUND_DOWN))


def format_amount(micros: int) -> str:
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICRO)
    return f"{sign}{whole}.{frac:06d}"


def split(amount: int, owner_share: Decimal) -> tuple[int, int]:
    """(owner, platform): the owner's share rounded down, the remainder to the platform."""
    owner = int((Decimal(amount) * owner_share).to_integral_value(rounding=ROUND_DOWN))
    return owner, amount - owner
