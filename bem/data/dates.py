"""Day-first, month-first or year-first: the order of numeric dates, stated or refused.

The runtime reads `05/07/2025` month-first (the seed's US form) and cannot read `14/07/2025`.
A history therefore states its order (`--dates dmy|mdy|ymd`), or every numeric date in it must
tell the order by itself (a part above 12); dates that read both ways are refused, with the
evidence the file gives. Dates are rewritten as ISO `YYYY-MM-DD[ time]` before anything reads
them, so training, evaluation and payloads see one form.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bem.data.columns import HistoryError
from budget_matcher.conventions import DATE_ORDERS, date_in_order, date_parts

ORDERS = DATE_ORDERS


@dataclass(frozen=True)
class Evidence:
    """Where a date was seen: its text, its line and its column."""

    text: str
    line: int
    column: str

    def __str__(self) -> str:
        return f"{self.text!r} (line {self.line}, {self.column})"


def infer_order(values: Iterable[tuple[str, int, str]]) -> str | None:
    """The order the dates show (None if no numeric day/month date); HistoryError if unclear.

    `values` are (text, line, column). A first part above 12 is day-first evidence, a second
    part above 12 month-first evidence; a date with both parts ≤ 12 reads both ways.
    """
    day_first: Evidence | None = None
    month_first: Evidence | None = None
    ambiguous: Evidence | None = None
    for text, line, column in values:
        parts = date_parts(text)
        if parts is None:
            continue
        first, second = parts[0], parts[1]
        if first > 12 >= second:
            day_first = day_first or Evidence(text, line, column)
        elif second > 12 >= first:
            month_first = month_first or Evidence(text, line, column)
        elif first <= 12 and second <= 12:
            ambiguous = ambiguous or Evidence(text, line, column)
    if day_first and month_first:
        raise HistoryError(
            f"dates disagree: {day_first} is day-first but {month_first} month-first; "
            "fix the file or pass --dates dmy|mdy (rows of the other form count as unreadable)"
        )
    found = day_first or month_first
    if ambiguous is not None:
        hint = f"; {found} suggests --dates {'dmy' if day_first else 'mdy'}" if found else ""
        raise HistoryError(
            f"date {ambiguous} reads as day-first or month-first: pass --dates dmy or "
            f"--dates mdy{hint}"
        )
    if found is None:
        return None
    return "dmy" if day_first else "mdy"


def to_iso(text: str, order: str) -> str | None:
    """`text` as ISO in `order` (the runtime's own rule: budget_matcher.conventions)."""
    return date_in_order(text, order)
