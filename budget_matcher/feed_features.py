"""Features of a charge among the user's other charges: what real card feeds are full of.

Each column is computed over all pairs at once from sums over windows (budget_matcher.columns
`window_sums`: exact integer-cent sums, so no column depends on the order of the request).
NaN = unknown.

  item_same_vendor_twins          how many other items of the user have the same normalised
                                  vendor, the same sign and the same amount to the whole unit,
                                  dated within ±3 days (a colleague's ticket at the same fare)
  vendor_window_late_sum_log_ratio  vendor_window_sum_log_ratio with a window reaching 21 days
                                  past the trip's end (whole folios posted weeks after checkout)
  budget_type_others_log_ratio    ln(1+Σ the budget's other charges of its own type group dated
                                  in its window) − ln(1+|cost|): is the budget's ticket already
                                  there (a change line or a colleague's twin beside it)

A credit's size against the same-vendor charges in the budget's window (a full or partial credit
of this budget's charge) was measured too and gained nothing (bench/bench_feature_gain.py): the
model already links a credit through `item_has_opposite_charge` and the window sums.
"""

from __future__ import annotations

import numpy as np

from budget_matcher import contract as c
from budget_matcher.columns import unique_inverse, whole_cents, window_sums
from budget_matcher.pairs import CandidatePairs

FEED_FEATURE_NAMES: tuple[str, ...] = (
    "item_same_vendor_twins",
    "vendor_window_late_sum_log_ratio",
    "budget_type_others_log_ratio",
)
TWIN_DAYS = 3.0
SECONDS_PER_DAY = 86400.0


def feed_features(
    pairs: CandidatePairs,
    item_vendor: np.ndarray,
    window: tuple[np.ndarray, np.ndarray, np.ndarray],
    late: np.ndarray,
    cost: np.ndarray,
    budget_group: np.ndarray,
    expense_group: np.ndarray,
) -> np.ndarray:
    """The columns of FEED_FEATURE_NAMES, from per line item its normalised vendor's code (−1
    for none) and per pair the budget's window in days (low, high, and the late window's high;
    NaN: none), the same-vendor sum over the late window, the budget's cost (actual, else
    budgeted) and the two type groups, as budget_matcher.features computes them."""
    b, i = pairs.budget_index, pairs.item_index
    item_amount = pairs.items.number(c.ITEM_AMOUNT)
    item_days = pairs.items.number(c.ITEM_DATE) / SECONDS_PER_DAY
    amount, days = item_amount[i], item_days[i]
    low, high, _ = window
    own_type = (budget_group == expense_group) & (amount > 0)
    contribution = np.where(own_type, amount, 0.0)
    same_type = window_sums(b, np.zeros_like(b), days, contribution, low, high)
    own_cents = whole_cents(contribution) / 100.0
    in_window = (days >= low) & (days <= high)
    others = same_type - np.where(in_window, own_cents, 0.0)
    return np.column_stack(
        [
            _same_vendor_twins(pairs, item_vendor, item_amount, item_days)[i],
            window_log_ratio(late, cost, low, high),
            window_log_ratio(others, cost, low, high),
        ]
    )


def window_log_ratio(
    total: np.ndarray, cost: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """ln(1+|total|) − ln(1+|cost|); NaN without a window."""
    ratio = np.log1p(np.abs(total)) - np.log1p(np.abs(cost))
    ratio[np.isnan(low) | np.isnan(high)] = np.nan
    return ratio


def _same_vendor_twins(
    pairs: CandidatePairs, vendor: np.ndarray, amount: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """Per line item: the other items of its user with its vendor and whole-unit amount (sign
    included) dated within ±TWIN_DAYS; NaN without vendor, amount or date."""
    items = pairs.items
    result = np.full(len(items), np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        whole = np.round(amount)
    valid = (vendor >= 0) & np.isfinite(whole) & ~np.isnan(days)
    if not valid.any():
        return result
    users = np.asarray(items.groups, dtype=np.int64)  # the request's users, even with equal ids
    _, unit = unique_inverse(whole[valid])
    _, by_user_vendor = unique_inverse(users[valid] * (int(vendor.max()) + 1) + vendor[valid])
    _, group = unique_inverse(by_user_vendor.astype(np.int64) * (int(unit.max()) + 1) + unit)
    day = days[valid]
    near = window_sums(group, np.zeros_like(group), day, np.ones(day.size), day - TWIN_DAYS,
                       day + TWIN_DAYS)  # fmt: skip
    result[valid] = near - 1.0
    return result
