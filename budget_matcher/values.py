"""Parsing of the contract's string values: amounts, datetimes, identifiers and text.

Numeric dates and ambiguous amounts read by `configure_reading` (budget_matcher.conventions):
the model card's, or BEM_DATE_ORDER / BEM_DECIMAL (predict.py sets it when the model loads).

Every parser returns a value or raises `ValueProblem`; callers turn problems into per-record
errors. Missing (None, "", whitespace) is not a problem: it parses to NaN / None.

Bounds (so no value slows a request or grows the process): amounts and dates longer than
MAX_VALUE_CHARS, ids longer than MAX_ID_CHARS and texts longer than MAX_TEXT_CHARS are
refused (`too_long`); every pattern runs in linear time; the parse caches hold at most
CACHE_ENTRIES strings of at most MAX_CACHED_CHARS characters each. Lone UTF-16 surrogates
(valid JSON escapes, not encodable as UTF-8) in ids and texts become U+FFFD.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, TypeVar

from budget_matcher.conventions import (
    DATE_ORDERS,
    DECIMALS,
    AmbiguousAmount,
    Reading,
    date_in_order,
    read_number,
)

MISSING = float("nan")
CACHE_ENTRIES = 65536  # distinct strings remembered per cache (dates and amounts repeat)
MAX_CACHED_CHARS = 128  # longer strings are parsed every time, never kept
MAX_VALUE_CHARS = 100  # amounts and dates: the longest real form is ~60 characters
MAX_ID_CHARS = 1024
MAX_TEXT_CHARS = 1024
_A = TypeVar("_A", str, "str | None")
_R = TypeVar("_R")
_CACHES: list[Any] = []
# each short_text_cache function → its cache of (readable, value or (code, message)) outcomes
_OUTCOMES: dict[Callable[..., Any], Callable[[Any], tuple[bool, Any]]] = {}
_READABLE, _VALUE = itemgetter(0), itemgetter(1)
_SURROGATE = re.compile("[\ud800-\udfff]")


def short_text_cache(function: Callable[[_A], _R]) -> Callable[[_A], _R]:
    """`function` memoised for strings of at most MAX_CACHED_CHARS (LRU, CACHE_ENTRIES); a
    ValueProblem is remembered too (card feeds repeat their unreadable values as well)."""

    def outcome(text: _A) -> tuple[bool, Any]:
        try:
            return True, function(text)
        except ValueProblem as problem:
            return False, (problem.code, problem.message)

    cached = functools.lru_cache(maxsize=CACHE_ENTRIES)(outcome)
    _CACHES.append(cached)

    @functools.wraps(function)
    def call(text: _A) -> _R:
        if text is not None and len(text) > MAX_CACHED_CHARS:
            return function(text)
        ok, value = cached(text)
        if not ok:
            raise ValueProblem(*value)  # a new instance: a re-raised one would grow its traceback
        return value

    _OUTCOMES[call] = cached
    return call


# Up to this many texts a plain loop of calls is quicker than the passes over the cache.
FEW_TEXTS = 8


def cached_map(function: Callable[[Any], _R], texts: Sequence[Any]) -> list[_R]:
    """`[function(text) for text in texts]`. For a `short_text_cache` function whose texts are
    all short and readable, one pass over its cache in C: no Python call per text (a request
    looks up thousands of vendors and types this way)."""
    cached = _OUTCOMES.get(function) if len(texts) > FEW_TEXTS else None
    if cached is not None and max(map(len, filter(None, texts)), default=0) <= MAX_CACHED_CHARS:
        outcomes = list(map(cached, texts))
        if all(map(_READABLE, outcomes)):
            return list(map(_VALUE, outcomes))
    return list(map(function, texts))


def cached_entries() -> int:
    """How many strings the parse caches hold right now (all caches together)."""
    return sum(cache.cache_info().currsize for cache in _CACHES)


def utf8_safe(text: str) -> str:
    """`text` with every lone surrogate replaced by U+FFFD, so it always encodes as UTF-8."""
    if text.isascii():  # no surrogate, nothing to encode (the common case)
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


class ValueProblem(ValueError):
    """A value that is present but cannot be read; `code` is the error code of the contract."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# A leading or trailing ISO currency code (upper case) or currency sign.
_CURRENCY_PREFIX = re.compile(r"(?:[A-Z]{3}\s*)?[$€£¥]?\s*")
_CURRENCY_SUFFIX = re.compile(r"[$€£¥]|[A-Z]{3}")
_ZONE_NAME = re.compile(r"[A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)+|UTC|GMT")
_EPOCH_TEXT = re.compile(r"\d{9,13}(\.\d+)?")
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y",
    "%m/%d/%y",
    "%d.%m.%Y",
    "%d %b %Y",
    "%d %B %Y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%Y%m%d",
)
_SHAPE_OF_DIRECTIVE = {
    "Y": r"\d{4}",
    "y": r"\d{2}",
    "m": r"\d{1,2}",
    "d": r"\d{1,2}",
    "H": r"\d{1,2}",
    "I": r"\d{1,2}",
    "M": r"\d{1,2}",
    "S": r"\d{1,2}",
    "f": r"\d{1,6}",
    "b": r"[A-Za-z]+",
    "B": r"[A-Za-z]+",
    "p": r"[AaPp][Mm]",
}


def _shape(pattern: str) -> re.Pattern[str]:
    """A linear regex that every string `strptime(·, pattern)` accepts must match: strptime is
    tried only on strings of a matching shape (a failing strptime costs ~20 µs a format)."""
    parts = re.split(r"(%.)", pattern)
    regex = "".join(
        _SHAPE_OF_DIRECTIVE[part[1]]
        if part.startswith("%")
        else re.escape(part).replace("\\ ", r"\s+")
        for part in parts
        if part
    )
    return re.compile(rf"\s*{regex}\s*")


@functools.cache
def _date_shapes() -> tuple[re.Pattern[str], tuple[tuple[str, re.Pattern[str]], ...]]:
    """Any format's shape, and each format with its shape: compiled on the first date that is
    not ISO 8601 (~3 ms of regex compilation that a cold start with ISO dates never needs)."""
    shapes = tuple((pattern, _shape(pattern)) for pattern in _DATE_FORMATS)
    return re.compile("|".join(f"(?:{shape.pattern})" for _, shape in shapes)), shapes


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Plausible range for travel data; outside it a number is more likely a typo than a date.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


_reading = Reading()


def configure_reading(dates: str | None, decimal: str | None) -> Reading:
    """Read numeric dates in `dates` order and amounts by `decimal` from now on (the caches are
    emptied); ValueError for a name that is no order or convention."""
    global _reading
    if dates is not None and dates not in DATE_ORDERS:
        raise ValueError(f"date order {dates!r} is not one of {', '.join(DATE_ORDERS)}")
    if decimal is not None and decimal not in DECIMALS:
        raise ValueError(f"decimal {decimal!r} is not one of {', '.join(DECIMALS)}")
    if Reading(dates, decimal) != _reading:
        _reading = Reading(dates, decimal)
        for cache in _CACHES:
            cache.cache_clear()
    return _reading


def current_reading() -> Reading:
    """The reading configured last (the model card's, or the environment's)."""
    return _reading


def is_missing(value: object) -> bool:
    """True for None and blank strings: the contract's 'missing'."""
    return value is None or (isinstance(value, str) and not value.strip())


def parse_amount(value: object) -> float:
    """A money amount as float: "24.0", "1,234.50", "$24", "USD 24", "(24.00)", "-3", "24,50".

    Missing → NaN. Text that is no amount, booleans, containers, NaN/inf → ValueProblem.
    """
    if type(value) is str:
        return _amount_from_text(value)
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueProblem("invalid_type", f"expected an amount string, got {type(value).__name__}")
    try:
        return _finite(float(value), value)
    except OverflowError as error:  # a JSON integer beyond the float range
        raise ValueProblem("invalid_amount", "amount is out of range") from error


@short_text_cache
def _amount_from_text(text: str) -> float:
    if not text.strip():
        return MISSING
    _check_length(text, MAX_VALUE_CHARS)
    try:
        number = float(text)
    except ValueError:
        number = read_amount(text, _reading.decimal or "point")[0]
    else:
        if _reading.decimal == "comma" and "." in text:  # `1.234` is 1234 by this convention
            number = read_amount(text, "comma")[0]
    return _finite(number, text)


def _finite(number: float, value: object) -> float:
    if not math.isfinite(number):
        raise ValueProblem("invalid_amount", f"amount is not finite: {value!r}")
    return number


def read_amount(text: str, decimal: str | None) -> tuple[float, str | None]:
    """(amount, the convention it shows or None): sign, parentheses, currency before or after;
    `decimal` None refuses a value that reads both ways (`ambiguous_amount`). Uncached."""
    raw = text.strip()
    _check_length(raw, MAX_VALUE_CHARS)
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1].strip()
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:].strip()
    raw = _strip_currency(raw)
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:].strip()
    try:
        number, shown = read_number(raw, decimal)
    except AmbiguousAmount as error:
        raise ValueProblem("ambiguous_amount", f"{_clip(text)!r} {error}") from None
    except ValueError:
        raise ValueProblem("invalid_amount", f"not an amount: {_clip(text)!r}") from None
    return _finite(-number if negative else number, text), shown


def _strip_currency(raw: str) -> str:
    """`raw` without one leading and one trailing currency code or sign (anchored: linear)."""
    raw = raw[_CURRENCY_PREFIX.match(raw).end() :].rstrip()  # type: ignore[union-attr]
    for size in (3, 1):
        if len(raw) >= size and _CURRENCY_SUFFIX.fullmatch(raw[-size:]):
            return raw[:-size].rstrip()
    return raw


def _check_length(text: str, limit: int) -> None:
    if len(text) > limit:
        raise ValueProblem("too_long", f"{len(text)} characters, over the limit of {limit}")


def parse_datetime(value: object) -> float:
    """A point in time as seconds since the epoch (UTC).

    Accepts ISO 8601 (with "Z" or an offset), the seed's "2017-04-18 04:00:00", US and European
    date forms, month names, a trailing IANA zone name ("2017-04-18 09:00 America/New_York",
    resolved with pytz) and epoch seconds or milliseconds as numbers. Naive times are UTC.
    Missing → NaN; unreadable or implausible (before 1990, after 2100) → ValueProblem.
    """
    if type(value) is str:
        return _datetime_from_text(value)
    if value is None:
        return MISSING
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueProblem("invalid_type", f"expected a date string, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError as error:
        raise ValueProblem("invalid_date", "date out of range") from error
    return _seconds(_epoch_number(number), value)


@short_text_cache
def _datetime_from_text(text: str) -> float:
    if not text.strip():
        return MISSING
    _check_length(text, MAX_VALUE_CHARS)
    return _seconds(_parse_text(text), text)


def _seconds(moment: datetime, value: object) -> float:
    if not _EARLIEST <= moment < _LATEST:
        raise ValueProblem("invalid_date", f"date out of range: {_clip(str(value))!r}")
    return (moment - _EPOCH).total_seconds()


def _epoch_number(number: float) -> datetime:
    if not math.isfinite(number):
        raise ValueProblem("invalid_date", "date is not finite")
    try:
        seconds = number / 1000.0 if abs(number) > 1e11 else number
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError as error:
        raise ValueProblem("invalid_date", "date out of range") from error


def _parse_text(text: str) -> datetime:
    raw = text.strip()
    if _EPOCH_TEXT.fullmatch(raw):
        return _epoch_number(float(raw))
    zone = None
    parts = raw.rsplit(None, 1)
    if len(parts) == 2 and _ZONE_NAME.fullmatch(parts[1]):
        import pytz  # only for a date that names its zone (~2 ms of a cold start otherwise)

        try:
            zone = pytz.timezone(parts[1])
        except pytz.UnknownTimeZoneError as error:
            raise ValueProblem("invalid_date", f"unknown time zone in {_clip(text)!r}") from error
        raw = parts[0]
    if _reading.dates is not None:
        in_order = date_in_order(raw, _reading.dates)
        if in_order is None:
            raise ValueProblem("invalid_date", f"not a date in the order {_reading.dates}")
        raw = in_order
    moment = _parse_stamp(raw)
    if moment is None:
        raise ValueProblem("invalid_date", f"not a date: {_clip(text)!r}")
    try:
        if moment.tzinfo is None:
            moment = zone.localize(moment) if zone is not None else moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as error:  # an offset that leaves years 1..9999
        raise ValueProblem("invalid_date", f"date out of range: {_clip(text)!r}") from error


def _parse_stamp(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    any_shape, shapes = _date_shapes()
    if not any_shape.fullmatch(raw):
        return None
    for pattern, shape in shapes:
        if not shape.fullmatch(raw):
            continue
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            continue
    return None


def parse_identifier(value: object) -> str:
    """A record id as a string: strings and integers pass; anything else is a ValueProblem."""
    if type(value) is str and len(value) <= MAX_ID_CHARS:  # the common case, checked first
        text = value.strip()
        if text:
            return text if text.isascii() else utf8_safe(text)
    if is_missing(value):
        raise ValueProblem("missing_id", "the record has no id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueProblem("invalid_type", f"expected an id string, got {type(value).__name__}")
    if isinstance(value, int):
        return int_text(value, MAX_ID_CHARS)
    _check_length(value, MAX_ID_CHARS)
    return utf8_safe(value.strip())


def parse_text(value: object) -> str | None:
    """A free-text field: strings pass, numbers become text, missing → None."""
    if type(value) is str:
        if not value.strip():
            return None
        if len(value) > MAX_TEXT_CHARS:
            _check_length(value, MAX_TEXT_CHARS)
        return value if value.isascii() else utf8_safe(value)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueProblem("invalid_type", f"expected a string, got {type(value).__name__}")
    if isinstance(value, int):
        return int_text(value, MAX_TEXT_CHARS)
    text = str(value)
    _check_length(text, MAX_TEXT_CHARS)
    return text


# log10(2): an int of b bits has at most ceil(b · log10 2) decimal digits.
_DIGITS_PER_BIT = 0.30103


def decimal_digits(value: int) -> int:
    """The characters of `str(value)`, or an upper bound of them for an int too long for
    `str` (Python refuses more than 4,300 digits; a JSON parser in process may hand one)."""
    if value.bit_length() <= 4000:
        return len(str(value))
    return int(value.bit_length() * _DIGITS_PER_BIT) + 2


def int_text(value: int, limit: int) -> str:
    """An integer as text of at most `limit` characters; too_long (never a ValueError of
    `str`) past it, however many digits it has."""
    if value.bit_length() > limit / _DIGITS_PER_BIT + 8:
        raise ValueProblem("too_long", f"an integer of ~{decimal_digits(value)} digits, over "
                           f"the limit of {limit} characters")  # fmt: skip
    text = str(value)
    _check_length(text, limit)
    return text


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
