"""Parsing of the contract's string values: amounts, datetimes, identifiers and text.

Every parser returns a value or raises `ValueProblem`; callers turn problems into per-record
errors. Missing (None, "", whitespace) is not a problem: it parses to NaN / None.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import pytz

MISSING = float("nan")
_CACHE_SIZE = 65536  # distinct strings remembered per container (dates and amounts repeat)


class ValueProblem(ValueError):
    """A value that is present but cannot be read; `code` is the error code of the contract."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# A leading or trailing ISO currency code (upper case) or currency sign.
_CURRENCY = re.compile(r"^(?:[A-Z]{3}\s*)?[$€£¥]?\s*|\s*(?:[$€£¥]|[A-Z]{3})?$")
_THOUSANDS = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")
_DECIMAL_COMMA = re.compile(r"^\d+,\d{1,2}$")
_PLAIN_NUMBER = re.compile(r"^\d+(\.\d*)?$|^\.\d+$")
_TRAILING_ZONE = re.compile(
    r"^(?P<stamp>.+?)\s+(?P<zone>[A-Za-z_]+(?:/[A-Za-z_+\-0-9]+)+|UTC|GMT)$"
)
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
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Plausible range for travel data; outside it a number is more likely a typo than a date.
_EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
_LATEST = datetime(2100, 1, 1, tzinfo=UTC)


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
    return _finite(float(value), value)


@lru_cache(maxsize=_CACHE_SIZE)
def _amount_from_text(text: str) -> float:
    if not text.strip():
        return MISSING
    try:
        number = float(text)
    except ValueError:
        number = _parse_amount_text(text)
    return _finite(number, text)


def _finite(number: float, value: object) -> float:
    if not math.isfinite(number):
        raise ValueProblem("invalid_amount", f"amount is not finite: {value!r}")
    return number


def _parse_amount_text(text: str) -> float:
    raw = text.strip()
    negative = False
    if raw.startswith("(") and raw.endswith(")"):
        negative, raw = True, raw[1:-1].strip()
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:].strip()
    raw = _CURRENCY.sub("", raw).strip()
    if raw.startswith("-"):
        negative, raw = not negative, raw[1:].strip()
    if _THOUSANDS.match(raw):
        raw = raw.replace(",", "")
    elif _DECIMAL_COMMA.match(raw):
        raw = raw.replace(",", ".")
    if not _PLAIN_NUMBER.match(raw):
        raise ValueProblem("invalid_amount", f"not an amount: {_clip(text)!r}")
    number = float(raw)
    return -number if negative else number


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
    return _seconds(_epoch_number(float(value)), value)


@lru_cache(maxsize=_CACHE_SIZE)
def _datetime_from_text(text: str) -> float:
    if not text.strip():
        return MISSING
    return _seconds(_parse_text(text), text)


def _seconds(moment: datetime, value: object) -> float:
    if not _EARLIEST <= moment < _LATEST:
        raise ValueProblem("invalid_date", f"date out of range: {_clip(str(value))!r}")
    return (moment - _EPOCH).total_seconds()


def _epoch_number(number: float) -> datetime:
    if not math.isfinite(number):
        raise ValueProblem("invalid_date", "date is not finite")
    seconds = number / 1000.0 if abs(number) > 1e11 else number
    try:
        return _EPOCH + timedelta(seconds=seconds)
    except OverflowError as error:
        raise ValueProblem("invalid_date", "date out of range") from error


def _parse_text(text: str) -> datetime:
    raw = text.strip()
    if re.fullmatch(r"\d{9,13}(\.\d+)?", raw):
        return _epoch_number(float(raw))
    zone = None
    zoned = _TRAILING_ZONE.match(raw)
    if zoned:
        try:
            zone = pytz.timezone(zoned.group("zone"))
        except pytz.UnknownTimeZoneError as error:
            raise ValueProblem("invalid_date", f"unknown time zone in {_clip(text)!r}") from error
        raw = zoned.group("stamp")
    moment = _parse_stamp(raw)
    if moment is None:
        raise ValueProblem("invalid_date", f"not a date: {_clip(text)!r}")
    if moment.tzinfo is None:
        moment = zone.localize(moment) if zone is not None else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _parse_stamp(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(raw, pattern)
        except ValueError:
            continue
    return None


def parse_identifier(value: object) -> str:
    """A record id as a string: strings and integers pass; anything else is a ValueProblem."""
    if is_missing(value):
        raise ValueProblem("missing_id", "the record has no id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueProblem("invalid_type", f"expected an id string, got {type(value).__name__}")
    return str(value).strip()


def parse_text(value: object) -> str | None:
    """A free-text field: strings pass, numbers become text, missing → None."""
    if type(value) is str:
        return value if value.strip() else None
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueProblem("invalid_type", f"expected a string, got {type(value).__name__}")
    return str(value)


def _clip(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit] + "…"
