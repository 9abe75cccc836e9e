"""Features of a charge among the user's other charges: what real card feeds are full of.

Each column is computed over all pairs at once from sums over windows (budget_matcher.columns
`WindowIndex`: exact integer-cent sums, so no column depends on the order of the request).
NaN = unknown.

  item_same_vendor_twins          how many other items of the user have the same normalised
                                  vendor, the same sign and the same amount to the whole unit,
                                  dated within ±3 days (a colleague's ticket at the same fare)
  vendor_window_late_sum_log_ratio  vendor_window_sum_log_ratio with a window reaching 21 days
                                  past the trip's end (whole folios posted weeks after checkout)
  budget_type_others_log_ratio    ln(1+Σ the budget's other charges of its own type group dated
                                  in its window) − ln(1+|cost|): is the budget's ticket already
                                  there (a change line or a colleague's twin beside it)
  vendor_day_sum_log_ratio        ln(1+|Σ the user's charges from the item's vendor dated on its
                                  day|) − ln(1+|cost|): what was posted with it. A folio posted
                                  in one batch adds up to its own stay's cost, whatever stay's
                                  dates the posting day falls in; one night's lines to a night's

A credit's size against the same-vendor charges in the budget's window (a full or partial credit
of this budget's charge) was measured too and gained nothing (bench/bench_feature_gain.py): the
model already links a credit through `item_has_opposite_charge` and the window sums.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from budget_matcher.columns import DENSE_MAX_SIZE, WindowIndex, unique_inverse

if TYPE_CHECKING:
    from budget_matcher.features import PairColumns

FEED_FEATURE_NAMES: tuple[str, ...] = (
    "item_same_vendor_twins",
    "vendor_window_late_sum_log_ratio",
    "budget_type_others_log_ratio",
    "vendor_day_sum_log_ratio",
)
TWIN_DAYS = 3.0


def feed_features(x: PairColumns, late: np.ndarray, same_day: np.ndarray) -> np.ndarray:
    """The columns of FEED_FEATURE_NAMES (one row each) from the pairs' shared columns
    (budget_matcher.features) and the same-vendor sums over each pair's late window and over
    its item's day."""
    low, high, _ = x.window
    amount, days = x.amount, x.item_days[x.i]
    # the budget's own-type charges: items of a known group with a positive amount, summed for
    # the budgets of that group
    positive = x.items_amount > 0
    item_group = np.where(positive & ~np.isnan(x.item_groups), x.item_groups, -1.0)
    group_code = item_group.astype(np.int64)
    charges = WindowIndex(x.item_users, group_code, x.item_days, x.items_amount, x.item_cents)
    groups = x.budget_groups  # group codes or NaN (never infinite)
    budget_group = np.where(np.isnan(groups), -1.0, groups).astype(np.int64)
    budget_users = np.asarray(x.pairs.budgets.groups, dtype=np.int64)
    budget_low, budget_high, _ = x.budget_windows
    # one query per budget (its own window and group), then per pair: no search per pair
    same_type = charges.sums(budget_users, budget_group, budget_low, (budget_high,))[0][x.b]
    same_type[np.isnan(days)] = np.nan
    own_type = (x.budget_group == x.expense_group) & (amount > 0)
    own_cents = np.where(own_type, x.item_cents[x.i], 0) / 100.0  # whole_cents(0.0) is 0
    in_window = (days >= low) & (days <= high)
    others = same_type - np.where(in_window, own_cents, 0.0)
    columns = np.empty((len(FEED_FEATURE_NAMES), amount.size))
    columns[0] = _same_vendor_twins(x.item_users, x.item_vendor, x.items_amount, x.item_days)[x.i]
    columns[1] = window_log_ratio(late, x.log_cost, low, high)
    columns[2] = window_log_ratio(others, x.log_cost, low, high)
    columns[3] = np.log1p(np.abs(same_day)) - x.log_cost
    return columns


def window_log_ratio(
    total: np.ndarray, log_cost: np.ndarray, low: np.ndarray, high: np.ndarray
) -> np.ndarray:
    """ln(1+|total|) − ln(1+|cost|) (`log_cost` = ln(1+|cost|)); NaN without a window."""
    ratio = np.log1p(np.abs(total)) - log_cost
    ratio[np.isnan(low) | np.isnan(high)] = np.nan
    return ratio


def _same_vendor_twins(
    users: np.ndarray, vendor: np.ndarray, amount: np.ndarray, days: np.ndarray
) -> np.ndarray:
    """Per line item: the other items of its user with its vendor and whole-unit amount (sign
    included) dated within ±TWIN_DAYS; NaN without vendor, amount or date."""
    result = np.empty(len(users))
    result.fill(np.nan)
    whole = np.rint(amount)  # np.round to 0 decimals (NaN and ±inf stay, no FP exception)
    valid = (vendor >= 0) & np.isfinite(whole) & ~np.isnan(days)
    if not np.count_nonzero(valid):  # valid.any(), without its wrapper
        return result
    day = days[valid]
    if day.size <= DENSE_MAX_SIZE:  # a few items: each against each, as WindowIndex's dense path
        user, code, unit = users[valid], vendor[valid], whole[valid]
        near = (user[:, None] == user) & (code[:, None] == code) & (unit[:, None] == unit)
        near &= (day >= (day - TWIN_DAYS)[:, None]) & (day <= (day + TWIN_DAYS)[:, None])
        result[valid] = near.sum(axis=1) - 1.0
        return result
    _, unit_code = unique_inverse(whole[valid])
    _, owner = unique_inverse(users[valid] * (int(vendor.max()) + 1) + vendor[valid])
    near_index = WindowIndex(owner, unit_code, day, np.ones(day.size))
    others = near_index.sums(owner, unit_code, day - TWIN_DAYS, (day + TWIN_DAYS,))[0]
    result[valid] = others - 1.0
    return result
