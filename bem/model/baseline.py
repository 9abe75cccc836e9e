"""The rule baseline the model has to beat: the rules a careful analyst would write first.

A pair matches when all four hold:
  same type        the budget's type group equals the line item's expense group;
  date in window   the transaction date lies in the trip window widened by `days` days;
  amount close     |amount − reference| / reference ≤ `amount_tolerance`, the reference being
                   the actual cost, else the budgeted price;
  vendor similar   the best vendor similarity (Monge-Elkan over Jaro-Winkler) ≥ `vendor_min`.
A missing value fails its rule. The baseline's score (for its PR curve) is the fraction of
rules met, with the vendor similarity as a tie-breaker: (rules met + 0.01·similarity) / 4.01.
The rules read the same feature columns as the model, so both see the same parsing.
Parameters are fitted by grid search on the training users (best F1), like the model's.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass

import numpy as np

from bem.model.metrics import confusion, precision_recall_f1
from budget_matcher.features import FEATURE_NAMES

DAY_GRID = (0, 1, 3, 7, 14, 30)
AMOUNT_GRID = (0.02, 0.05, 0.1, 0.2, 0.35, 0.5)
VENDOR_GRID = (0.5, 0.6, 0.7, 0.8, 0.9)


@dataclass(frozen=True)
class RuleBaseline:
    """Rule parameters: date slack in days, relative amount tolerance, vendor similarity floor."""

    days: float = 3.0
    amount_tolerance: float = 0.1
    vendor_min: float = 0.8

    def rules(self, features: np.ndarray) -> np.ndarray:
        """A boolean (n_pairs × 4) matrix: type, date, amount, vendor rule met."""
        column = {name: features[:, k] for k, name in enumerate(FEATURE_NAMES)}
        relative = np.where(
            np.isnan(column["amount_rel_diff_actual"]),
            column["amount_rel_diff_budgeted"],
            column["amount_rel_diff_actual"],
        )
        with np.errstate(invalid="ignore"):
            return np.column_stack(
                [
                    column["type_match"] == 1.0,
                    np.abs(column["days_outside_trip"]) <= self.days,
                    relative <= self.amount_tolerance,
                    column["vendor_monge_elkan"] >= self.vendor_min,
                ]
            )

    def predict(self, features: np.ndarray) -> np.ndarray:
        """True where every rule holds."""
        return self.rules(features).all(axis=1)

    def score(self, features: np.ndarray) -> np.ndarray:
        """Fraction of rules met, vendor similarity breaking ties, in [0, 1]."""
        similarity = np.nan_to_num(features[:, FEATURE_NAMES.index("vendor_monge_elkan")])
        return (self.rules(features).sum(axis=1) + 0.01 * similarity) / 4.01

    def card(self) -> dict[str, float]:
        """The parameters, for reports."""
        return asdict(self)


def fit_baseline(features: np.ndarray, labels: np.ndarray) -> RuleBaseline:
    """The grid point with the best F1 on (`features`, `labels`)."""
    best, best_f1 = RuleBaseline(), -1.0
    for days, tolerance, vendor_min in itertools.product(DAY_GRID, AMOUNT_GRID, VENDOR_GRID):
        candidate = RuleBaseline(float(days), tolerance, vendor_min)
        _, _, f1 = precision_recall_f1(confusion(labels, candidate.predict(features)))
        if f1 > best_f1:
            best, best_f1 = candidate, f1
    return best
