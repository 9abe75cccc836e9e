"""Day-first, month-first or year-first: the order of numeric dates, stated or refused.

Without an order the runtime reads `05/07/2025` month-first (the seed's US form) and cannot
read `14/07/2025`. A history therefore states its order (`--dates dmy|mdy|ymd`), or every
numeric date in it must tell the order by itself (a part above 12); dates that read both ways
are refused, with the evidence the file gives. Dates are rewritten as ISO `YYYY-MM-DD[ time]`
before anything reads them, so training, evaluation and payloads see one form; the model card
records the order, and the function reads requests by it (budget_matcher.conventions).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bem.data.columns import HistoryError
from bem.data.read import shown
from budget_matcher.conventions import DATE_ORDERS, date_in_order, date_parts

ORDERS = DATE_ORDERS


@dataclass(frozen=True)
class Evidence:
    """Where a value was seen: its text, its line and its column."""

    text: str
    line: int
    column: str

    def __str__(self) -> str:
        return f"{shown(self.text)} (line {self.line}, {self.column})"


class DateEvidence:
    """What the numeric dates of a file show, seen one at a time (`see`), then `decide`."""

    def __init__(self) -> None:
        self.day_first: Evidence | None = None
        self.month_first: Evidence | None = None
        self.ambiguous: Evidence | None = None
        self._seen: set[str] = set()  # texts already looked at (dates repeat)

    def see(self, text: str, line: int, column: str) -> None:
        """A first part above 12 is day-first evidence, a second part above 12 month-first
        evidence; a date with both parts ≤ 12 reads both ways."""
        if text in self._seen:
            return
        if len(self._seen) < 1 << 16:
            self._seen.add(text)
        parts = date_parts(text)
        if parts is None:
            return
        first, second = parts[0], parts[1]
        if first > 12 >= second:
            self.day_first = self.day_first or Evidence(text, line, column)
        elif second > 12 >= first:
            self.month_first = self.month_first or Evidence(text, line, column)
        elif first <= 12 and second <= 12:
            self.ambiguous = self.ambiguous or Evidence(text, line, column)

    def decide(self) -> str | None:
        """The order the dates show (None if no numeric day/month date); HistoryError if
        unclear (the fix names the option)."""
        day_first, month_first = self.day_first, self.month_first
        if day_first and month_first:
            raise HistoryError(
                f"dates disagree: {day_first} is day-first but {month_first} month-first; "
                "fix the file or pass --dates dmy|mdy (rows of the other form count as "
                "unreadable)"
            )
        found = day_first or month_first
        if self.ambiguous is not None:
            suggested = "dmy" if day_first else "mdy"
            hint = f"; {found} suggests --dates {suggested}" if found else ""
            raise HistoryError(
                f"date {self.ambiguous} reads as day-first or month-first: pass --dates dmy or "
                f"--dates mdy{hint}",
                f"--dates {suggested}" if found else None,
            )
        if found is None:
            return None
        return "dmy" if day_first else "mdy"


def infer_order(values: Iterable[tuple[str, int, str]]) -> str | None:
    """The order the (text, line, column) dates show; see DateEvidence."""
    evidence = DateEvidence()
    for text, line, column in values:
        evidence.see(text, line, column)
    return evidence.decide()


def to_iso(text: str, order: str) -> str | None:
    """`text` as ISO in `order` (the runtime's own rule: budget_matcher.conventions)."""
    return date_in_order(text, order)
