"""How numbers and numeric dates are written: the decimal convention and the date order.

One set of rules for every reader: the Lambda (by the model card, or BEM_DECIMAL /
BEM_DATE_ORDER), `bem data` (by --decimal/--dates or what the file shows) and the batch jobs.

Amounts: a value holding both `.` and `,` shows its convention (the last one is the decimal
separator, `1.234,56`); so does one separator followed by other than three digits (`29,40`,
`24.5`), a separator repeated (`1.234.567`) or space/apostrophe grouping (`1 234,56`). Only
one separator followed by exactly three digits after one to three (`1.234`, `1,234`) reads
both ways: the convention decides, and without one it is refused (`ambiguous_amount`).

Dates: `a/b/c` (also `.` and `-`) with a first part of one or two digits reads by the order:
dmy, mdy or ymd (`25/06/05`). A date impossible in the order is refused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

DECIMALS = ("comma", "point")
DATE_ORDERS = ("dmy", "mdy", "ymd")
GROUP_CHARS = " \u00a0\u202f'’"  # spaces and apostrophes that group thousands
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.\-])(\d{1,2})\2(\d{2}|\d{4})(?:([ T])(.+))?$")


@dataclass(frozen=True)
class Reading:
    """How numeric dates and ambiguous amounts are read.

    `dates` None: the seed's forms (`05/07/2025` month-first, `05.07.2025` day-first);
    `decimal` None: point (`1,234` is 1234, `1.234` is 1.234)."""

    dates: str | None = None
    decimal: str | None = None

    def describe(self) -> str:
        """E.g. "dates dmy, decimal comma" (the seed's forms where unset)."""
        dates = self.dates or "as the seed (month-first)"
        return f"dates {dates}, decimal {self.decimal or 'point'}"


class AmbiguousAmount(ValueError):
    """A number that reads as thousands or as decimals (`1.234`, `1,234`)."""

    def __init__(self, text: str, grouped: float, decimal: float) -> None:
        point, comma = (decimal, grouped) if "." in text else (grouped, decimal)
        super().__init__(f"reads as {point:g} (decimal point) or {comma:g} (decimal comma)")


def _grouped(body: str, separator: str) -> bool:
    """`body` is digits in thousands groups: 1-3 digits, then groups of 3 after `separator`."""
    head, *groups = body.split(separator)
    return (
        1 <= len(head) <= 3
        and head.isdigit()
        and bool(groups)
        and all(len(g) == 3 and g.isdigit() for g in groups)
    )


def read_number(body: str, decimal: str | None) -> tuple[float, str | None]:
    """(value, convention shown) of an unsigned number without currency, e.g. `1.234,56`.

    The convention shown is "comma", "point" or None (the value shows none). ValueError when
    it is no number; AmbiguousAmount when it reads both ways and `decimal` is None.
    """
    if not body.isascii():
        for char in GROUP_CHARS:
            body = body.replace(char, "_")
        if not body.isascii():
            raise ValueError(body)
    else:
        body = body.replace(" ", "_").replace("'", "_")
    if body.isdigit():
        return float(body), None
    points, commas = body.count("."), body.count(",")
    if points and commas:
        separator = "." if body.rfind(".") > body.rfind(",") else ","
        whole, _, fraction = body.rpartition(separator)
        group = "," if separator == "." else "."
        if not (fraction.isdigit() and _grouped(whole, group)):
            raise ValueError(body)
        return float(whole.replace(group, "") + "." + fraction), _name(separator)
    if not (points or commas):
        if _grouped(body, "_"):
            return float(body.replace("_", "")), None
        raise ValueError(body)
    separator = "." if points else ","
    if points + commas > 1:  # repeated: thousands groups, so the other one is the decimal
        if _grouped(body, separator):
            return float(body.replace(separator, "")), _name("," if separator == "." else ".")
        raise ValueError(body)
    whole, _, fraction = body.partition(separator)
    if "_" in whole:  # space grouping: the separator is the decimal one
        if not (_grouped(whole, "_") and fraction.isdigit()):
            raise ValueError(body)
        return float(whole.replace("_", "") + "." + fraction), _name(separator)
    if not (fraction.isdigit() and (whole.isdigit() or not whole)):
        raise ValueError(body)
    as_decimal = float((whole or "0") + "." + fraction)
    if len(fraction) != 3 or not 1 <= len(whole) <= 3 or whole[0] == "0":
        return as_decimal, _name(separator)
    as_grouped = float(whole + fraction)
    if decimal is None:
        raise AmbiguousAmount(body, as_grouped, as_decimal)
    return (as_decimal if _name(separator) == decimal else as_grouped), None


def _name(separator: str) -> str:
    return "point" if separator == "." else "comma"


def date_parts(text: str) -> tuple[int, int, int, str] | None:
    """(first, second, third, rest) of `a/b/c[ time]` with a 1-2 digit first part, else None."""
    match = _NUMERIC_DATE.match(text.strip())
    if match is None:
        return None
    first, second, third = int(match.group(1)), int(match.group(3)), int(match.group(4))
    rest = (match.group(5) or "") + (match.group(6) or "")
    return first, second, third, rest


def date_in_order(text: str, order: str) -> str | None:
    """`text` as ISO `YYYY-MM-DD[ time]` in `order`; the text itself when it is no numeric
    a/b/c date; None when it is one that is impossible in `order` (e.g. month 14)."""
    parts = date_parts(text)
    if parts is None:
        return text
    first, second, third, rest = parts
    if order == "ymd":
        year, month, day = first, second, third
    else:
        day, month = (first, second) if order == "dmy" else (second, first)
        year = third
    year = year + 2000 if year < 100 else year
    try:
        stamp = date(year, month, day).isoformat()
    except ValueError:
        return None
    return stamp + (" " + rest.strip() if rest.strip() else "")
