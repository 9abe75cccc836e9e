"""Decimal comma or decimal point: the convention of a history's amounts, stated or refused.

`1.234,56`, `1 234,56 €`, `29,40 €` show a decimal comma, `€1,234.56` and `24.50` a decimal
point; `1.234` and `1,234` read both ways. A history states its convention
(`--decimal comma|point`) or its amounts show it; a value that reads both ways without one is
refused with the evidence the file gives, as ambiguous dates are. Amounts are rewritten as
numbers before anything reads them; the model card records the convention and the function
reads requests by it (budget_matcher.conventions).
"""

from __future__ import annotations

from bem.data.columns import HistoryError
from bem.data.dates import Evidence
from budget_matcher.conventions import DECIMALS
from budget_matcher.values import ValueProblem, read_amount

__all__ = ["DECIMALS", "DecimalEvidence"]


class DecimalEvidence:
    """What the amounts of a file show, seen one at a time (`see`), then `decide`."""

    def __init__(self) -> None:
        self.shown: dict[str, Evidence] = {}
        self.ambiguous: Evidence | None = None
        self._seen: set[str] = set()  # texts already looked at (amounts repeat)

    def see(self, text: str, line: int, column: str) -> None:
        """Note the convention `text` shows, or that it reads both ways."""
        if text in self._seen:
            return
        if len(self._seen) < 1 << 16:
            self._seen.add(text)
        try:
            convention = read_amount(text, None)[1]
        except ValueProblem as problem:
            if problem.code == "ambiguous_amount" and self.ambiguous is None:
                self.ambiguous = Evidence(text, line, column)
            return
        if convention is not None and convention not in self.shown:
            self.shown[convention] = Evidence(text, line, column)

    def decide(self) -> str | None:
        """The convention shown (None: none, or both with no value needing one);
        HistoryError when a value reads both ways."""
        if self.ambiguous is not None:
            hints = "; ".join(
                f"{evidence} suggests --decimal {name}" for name, evidence in self.shown.items()
            )
            only = next(iter(self.shown)) if len(self.shown) == 1 else None
            raise HistoryError(
                f"amount {self.ambiguous} reads as thousands or as decimals: pass --decimal "
                f"comma or --decimal point" + (f"; {hints}" if hints else ""),
                f"--decimal {only}" if only else None,
            )
        return next(iter(self.shown)) if len(self.shown) == 1 else None
