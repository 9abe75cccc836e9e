"""Decimal conventions and date orders: one rule for `bem data`, training and the function."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from budget_matcher.conventions import AmbiguousAmount, date_in_order, read_number
from budget_matcher.values import (
    ValueProblem,
    configure_reading,
    parse_amount,
    parse_datetime,
    read_amount,
)


@pytest.fixture(autouse=True)
def _seed_reading() -> Iterator[None]:
    configure_reading(None, None)
    yield
    configure_reading(None, None)


@pytest.mark.parametrize(
    ("text", "expected", "shown"),
    [
        ("1.234,56", 1234.56, "comma"),
        ("1 234,56 €", 1234.56, "comma"),
        ("1\u00a0234,56", 1234.56, "comma"),
        ("29,40 €", 29.40, "comma"),
        ("€1,234.56", 1234.56, "point"),
        ("1.993,07 €", 1993.07, "comma"),
        ("CHF 1'234.50", 1234.5, "point"),
        ("1.234.567", 1234567.0, "comma"),
        ("1,234,567", 1234567.0, "point"),
        ("0,123", 0.123, "comma"),
        ("24", 24.0, None),
        ("-1.027,99 EUR", -1027.99, "comma"),
    ],
)
def test_conventions_amounts_showing_their_convention_read_by_it(
    text: str, expected: float, shown: str | None
) -> None:
    assert read_amount(text, None) == (pytest.approx(expected), shown)


@pytest.mark.parametrize("text", ["1.234", "1,234", "€12.500"])
def test_conventions_amounts_reading_both_ways_need_a_convention(text: str) -> None:
    with pytest.raises(ValueProblem) as caught:
        read_amount(text, None)
    assert caught.value.code == "ambiguous_amount"
    assert "decimal point" in caught.value.message and "decimal comma" in caught.value.message
    point, comma = read_amount(text, "point")[0], read_amount(text, "comma")[0]
    assert point != comma


def test_conventions_read_number_refuses_broken_groups() -> None:
    for text in ("1.23.4", "12,34,567", "1..2", "1,2.3,4"):
        with pytest.raises(ValueError):
            read_number(text, "point")
    with pytest.raises(AmbiguousAmount):
        read_number("1.234", None)


def test_conventions_function_reads_by_the_configured_reading() -> None:
    assert parse_amount("1.234") == pytest.approx(1.234)  # the seed's point
    assert parse_amount("1,234") == 1234.0
    may_6 = parse_datetime("05/06/2025")
    configure_reading("dmy", "comma")
    assert parse_amount("1.234") == 1234.0
    assert parse_amount("1,234") == pytest.approx(1.234)
    assert parse_amount("24.50") == pytest.approx(24.5)  # shows its point: read as it shows
    assert parse_amount("1.027,99 €") == pytest.approx(1027.99)
    june_5 = parse_datetime("05/06/2025")
    assert june_5 - may_6 == 30 * 86400
    assert parse_datetime("05.06.2025 10:00") == june_5 + 36000
    with pytest.raises(ValueProblem, match="order dmy"):
        parse_datetime("06/13/2025")
    configure_reading("mdy", None)
    assert parse_datetime("05/06/2025") == may_6


def test_conventions_dates_in_each_order() -> None:
    assert date_in_order("05/06/25 10:00", "dmy") == "2025-06-05 10:00"
    assert date_in_order("05/06/25", "mdy") == "2025-05-06"
    assert date_in_order("25/06/05", "ymd") == "2025-06-05"
    assert date_in_order("2025-06-05", "dmy") == "2025-06-05"
    assert date_in_order("31/02/2025", "dmy") is None


def test_conventions_configure_refuses_unknown_names() -> None:
    with pytest.raises(ValueError, match="date order"):
        configure_reading("dym", None)
    with pytest.raises(ValueError, match="decimal"):
        configure_reading(None, "dot")
