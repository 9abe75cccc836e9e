"""Amount, date, id and text parsing of contract values."""

from __future__ import annotations

import math

import pytest

from budget_matcher.values import (
    ValueProblem,
    parse_amount,
    parse_datetime,
    parse_identifier,
    parse_text,
)

SEED_START = 1492488000.0  # 2017-04-18 04:00:00 UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("24.0", 24.0),
        ("1,234.50", 1234.5),
        ("$24", 24.0),
        ("USD 24.10", 24.1),
        ("24.10 USD", 24.1),
        ("€24,50", 24.5),
        ("(24.00)", -24.0),
        ("-3", -3.0),
        ("$-3.50", -3.5),
        (" 131.98 ", 131.98),
        (24, 24.0),
        (24.5, 24.5),
    ],
)
def test_parse_amount_reads_card_feed_forms(text: object, expected: float) -> None:
    assert parse_amount(text) == pytest.approx(expected)


@pytest.mark.parametrize("missing", [None, "", "   "])
def test_parse_amount_missing_is_nan(missing: object) -> None:
    assert math.isnan(parse_amount(missing))


@pytest.mark.parametrize("bad", ["abc", "12abc", "1.2.3", "nan", "inf", True, [1], {"a": 1}])
def test_parse_amount_rejects_non_amounts(bad: object) -> None:
    with pytest.raises(ValueProblem):
        parse_amount(bad)


@pytest.mark.parametrize(
    "text",
    [
        "2017-04-18 04:00:00",
        "2017-04-18T04:00:00Z",
        "2017-04-18T04:00:00+00:00",
        "2017-04-18T00:00:00-04:00",
        "2017-04-18 00:00:00 America/New_York",
        "04/18/2017 04:00",
        "1492488000",
        "1492488000000",
        1492488000,
    ],
)
def test_parse_datetime_reads_formats_and_zones(text: object) -> None:
    assert parse_datetime(text) == SEED_START


def test_parse_datetime_dates_without_time_are_midnight_utc() -> None:
    assert parse_datetime("2017-04-18") == SEED_START - 4 * 3600
    assert parse_datetime("18 Apr 2017") == SEED_START - 4 * 3600
    assert parse_datetime("Apr 18, 2017") == SEED_START - 4 * 3600


@pytest.mark.parametrize(
    "bad", ["yesterday", "2017-13-45", "1850-01-01", "2017-04-18 Mars/Olympus", [], False, 1e300]
)
def test_parse_datetime_rejects_unreadable(bad: object) -> None:
    with pytest.raises(ValueProblem):
        parse_datetime(bad)


def test_parse_identifier_accepts_strings_and_ints_only() -> None:
    assert parse_identifier(" 309366 ") == "309366"
    assert parse_identifier(309366) == "309366"
    for bad in (None, "", 1.5, True, {"id": 1}):
        with pytest.raises(ValueProblem):
            parse_identifier(bad)


def test_parse_text_keeps_missing_as_none() -> None:
    assert parse_text(None) is None
    assert parse_text("  ") is None
    assert parse_text(12) == "12"
    with pytest.raises(ValueProblem):
        parse_text(["taxi"])
