from decimal import Decimal

import pytest
from modelship.money import AmountError, format_amount, parse_amount, split


@pytest.mark.parametrize("text,micros", [("5.00", 5_000_000), ("0.000001", 1), ("7", 7_000_000)])
def test_parse(text, micros):
    assert parse_amount(text) == micros
    assert parse_amount(format_amount(micros)) == micros


@pytest.mark.parametrize("bad", ["0.0000001", "-1.00", "abc", "1e3", "", 5.0, None, "1.2.3"])
def test_parse_rejects(bad):
    with pytest.raises(AmountError):
        parse_amount(bad)


@pytest.mark.parametrize("amount", [1, 3, 7, 999_999, 1_234_567])
def test_split_rounds_owner_down_and_sums(amount):
    owner, platform = split(amount, Decimal("0.8"))
    assert owner + platform == amount
    assert owner == amount * 8 // 10


def test_format():
    assert format_amount(1000) == "0.001000"
    assert format_amount(-5_000_001) == "-5.000001"
