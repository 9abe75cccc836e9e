"""Hostile values: bounded time, no arithmetic error escapes, UTF-8 safe, bounded caches."""

from __future__ import annotations

import contextlib
import json
import math
import time
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from budget_matcher import values
from budget_matcher.text import tokens
from budget_matcher.values import (
    ValueProblem,
    parse_amount,
    parse_datetime,
    parse_identifier,
    parse_text,
)


def _seconds(call: object, value: object) -> float:
    started = time.perf_counter()
    with contextlib.suppress(ValueProblem):
        call(value)  # type: ignore[operator]
    return time.perf_counter() - started


def test_values_long_amount_is_refused_without_backtracking() -> None:
    # Before the bound, "1" + 40,000 spaces + "x" took about a minute (quadratic backtracking).
    text = "1" + " " * 40_000 + "x"
    with pytest.raises(ValueProblem) as problem:
        parse_amount(text)
    assert problem.value.code == "too_long"
    assert _seconds(parse_amount, "1" + " " * 40_001 + "y") < 0.5


def test_values_long_date_is_refused_without_backtracking() -> None:
    text = "a" + " " * 40_000 + "!"
    with pytest.raises(ValueProblem) as problem:
        parse_datetime(text)
    assert problem.value.code == "too_long"
    assert _seconds(parse_datetime, "b" + " " * 40_001 + "!") < 0.5


def test_values_zone_pattern_is_linear_below_the_bound() -> None:
    # Below the length bound the trailing-zone split must not backtrack either.
    text = "2017-04-18" + " " * (values.MAX_VALUE_CHARS - 20) + "x/y"
    assert len(text) <= values.MAX_VALUE_CHARS
    with pytest.raises(ValueProblem):
        parse_datetime(text)


@pytest.mark.parametrize("parse", [parse_amount, parse_datetime])
def test_values_huge_integer_is_a_value_problem(parse: object) -> None:
    with pytest.raises(ValueProblem):
        parse(10**309)  # type: ignore[operator]


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01 00:00 Asia/Tokyo"],
)
def test_values_offset_at_calendar_edges_is_a_value_problem(text: str) -> None:
    with pytest.raises(ValueProblem) as problem:
        parse_datetime(text)
    assert problem.value.code == "invalid_date"


@pytest.mark.parametrize("parse", [parse_identifier, parse_text])
def test_values_lone_surrogates_become_replacement_characters(parse: object) -> None:
    parsed = parse("ab\ud800c\udfff")  # type: ignore[operator]
    assert parsed == "ab\ufffdc\ufffd"
    parsed.encode("utf-8")
    assert parse("a\U0001f600b") == "a\U0001f600b"  # type: ignore[operator]


def test_values_caches_skip_long_strings() -> None:
    long_amount = "9" * (values.MAX_CACHED_CHARS + 1)
    before = values.cached_entries()
    for k in range(50):
        with contextlib.suppress(ValueProblem):
            parse_amount(f"{k}{long_amount}")
        with contextlib.suppress(ValueProblem):
            parse_datetime(f"{k}{long_amount}")
        tokens(f"vendor {k} " + "x" * 10_000)
    assert values.cached_entries() == before


_text = st.text(alphabet=st.characters(codec=None), max_size=300)
_json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.lists(st.integers(), max_size=2),
)


@settings(max_examples=200, deadline=None)
@given(_json_scalar)
def test_values_amount_is_finite_nan_or_a_problem(value: object) -> None:
    try:
        number = parse_amount(value)
    except ValueProblem:
        return
    assert math.isnan(number) or math.isfinite(number)


@settings(max_examples=200, deadline=None)
@given(_json_scalar)
def test_values_datetime_is_in_range_nan_or_a_problem(value: object) -> None:
    try:
        seconds = parse_datetime(value)
    except ValueProblem:
        return
    assert math.isnan(seconds) or 631152000.0 <= seconds < 4102444800.0


@settings(max_examples=200, deadline=None)
@given(_json_scalar)
def test_values_ids_and_texts_are_strict_utf8(value: object) -> None:
    for parse in (parse_identifier, parse_text):
        try:
            parsed = parse(value)
        except ValueProblem:
            continue
        if parsed is not None:
            json.dumps(parsed, ensure_ascii=False).encode("utf-8")


@settings(max_examples=200, deadline=None)
@given(st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False))
def test_values_amount_reads_its_own_formats(amount: object) -> None:
    text = f"{amount:,.2f}"
    expected = float(f"{amount:.2f}")
    assert parse_amount(text) == pytest.approx(expected)
    assert parse_amount(f"USD {text}") == pytest.approx(expected)
    assert parse_amount(f"{text} EUR") == pytest.approx(expected)


@settings(max_examples=200, deadline=None)
@given(
    moment=st.datetimes(
        min_value=datetime(1990, 1, 2), max_value=datetime(2068, 12, 30), timezones=st.none()
    ),
    pattern=st.sampled_from(values._DATE_FORMATS),
)
def test_values_every_date_format_still_reads_after_the_shape_check(
    moment: datetime, pattern: str
) -> None:
    """The shape pre-check must never refuse what the format's strptime reads (to 2068: `%y`
    reads 69 as 1969)."""
    text = moment.strftime(pattern)
    expected = datetime.strptime(text, pattern).replace(tzinfo=UTC).timestamp()
    assert parse_datetime(text) == pytest.approx(expected)


@pytest.mark.parametrize("text", ["x1y", "2017-13-45", "31.02.2017", "April 31, 2017", "1/2/3/4"])
def test_values_unreadable_dates_stay_problems_and_are_remembered(text: str) -> None:
    for _ in range(2):  # the second answer comes from the cache, as a fresh problem
        with pytest.raises(ValueProblem) as problem:
            parse_datetime(text)
        assert problem.value.code == "invalid_date"


def test_values_integers_past_str_limit_are_too_long_not_value_errors() -> None:
    for parse in (parse_identifier, parse_text):
        with pytest.raises(ValueProblem) as problem:
            parse(10**4999)
        assert problem.value.code == "too_long"
    assert parse_identifier(10**1000) == str(10**1000)
    assert values.decimal_digits(10**4999) >= 5000
    assert values.decimal_digits(-(10**20)) == 22
