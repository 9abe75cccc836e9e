"""Features of a pair seen among its competitors: the item's other budgets, the user's items.

A charge of a frequent traveller looks like the ticket of every one of their look-alike
weekly budgets; only how much better it fits this budget than the others tells them apart.
Every column is computed over all pairs at once (no per-user loop); NaN = unknown.

  timing_gap_to_best_in_item   days by which this budget's timing is worse than the best
                               timing among the item's budgets of the same type group; timing
                               = min(|days outside the trip|, |days since the budget's creation|)
  created_gap_to_best_in_item  the same for |days between the charge and the budget's creation|
                               (a ticket is charged when it is booked)
  amount_gap_to_best_in_item   the same for |ln(1+|amount|) − ln(1+|reference cost|)|
  timing_gap_to_best_in_budget days by which this item's timing is worse than the best timing
                               among the budget's items of the same expense group
  item_detail_kind             what the line says it is: 0 nothing known, 1 room/fare/rental,
                               2 tax, 3 fee, 4 incidental (minibar, room service, parking…),
                               5 fare change, 6 resort or destination fee
  vendor_is_agency             the item's vendor names a travel agency or online booking site
  item_has_opposite_charge     another item of the user, same vendor, has exactly −amount
                               (a cancelled charge and its credit)
"""

from __future__ import annotations

import numpy as np

from budget_matcher import contract as c
from budget_matcher.pairs import CandidatePairs, RecordTable
from budget_matcher.text import tokens

CONTEXT_FEATURE_NAMES: tuple[str, ...] = (
    "timing_gap_to_best_in_item",
    "created_gap_to_best_in_item",
    "amount_gap_to_best_in_item",
    "timing_gap_to_best_in_budget",
    "item_detail_kind",
    "vendor_is_agency",
    "item_has_opposite_charge",
)
# Stemmed keywords (see budget_matcher.text.tokens) of what a line item says it is.
DETAIL_KINDS: tuple[tuple[float, frozenset[str]], ...] = (
    (4.0, frozenset({"minibar", "laundri", "breakfast", "servic", "internet", "wifi", "park"})),
    (5.0, frozenset({"chang", "exchang", "differ", "reissu", "rebook"})),
    (6.0, frozenset({"resort", "destin", "amen"})),
    (3.0, frozenset({"fee", "surcharg", "bank", "transact", "baggag", "bag", "seat", "penalti"})),
    (2.0, frozenset({"tax", "vat", "levi", "occup"})),
    (1.0, frozenset({"room", "night", "rate", "fare", "ticket", "rental", "lodg", "airfar"})),
)
AGENCY_TOKENS = frozenset(
    {
        "expedia",
        "egencia",
        "concur",
        "bcd",
        "gbt",
        "booking",
        "navan",
        "cwt",
        "carlson",
        "orbitz",
        "priceline",
        "travelocity",
        "hotelscom",
        "kayak",
        "tripcom",
        "agoda",
        "tripact",
        "travelperk",
    }
)
SECONDS_PER_DAY = 86400.0


def context_features(
    pairs: CandidatePairs,
    outside_days: np.ndarray,
    created_days: np.ndarray,
    amount_closeness: np.ndarray,
    budget_group: np.ndarray,
    expense_group: np.ndarray,
) -> np.ndarray:
    """The columns of CONTEXT_FEATURE_NAMES, from per-pair days outside the trip, days since
    the budget's creation, amount closeness (≥ 0) and the type groups of both sides, all as
    computed by budget_matcher.features."""
    i = pairs.item_index
    groups = _group_keys(i, budget_group)
    created = np.abs(created_days)
    timing = np.fmin(np.abs(outside_days), created)
    in_budget = _group_keys(pairs.budget_index, expense_group)
    items = pairs.items
    detail = _detail_kinds(items)[i]
    agency = _agency_flags(items.text(c.ITEM_VENDOR))[i]
    opposite = _opposite_charges(items)[i]
    return np.column_stack(
        [
            timing - _group_min(groups, timing),
            created - _group_min(groups, created),
            amount_closeness - _group_min(groups, amount_closeness),
            timing - _group_min(in_budget, timing),
            detail,
            agency,
            opposite,
        ]
    )


def _group_keys(index: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One code per (row index, type group); a NaN group is a group of its own."""
    code = np.where(np.isnan(group), -1, group).astype(np.int64) + 1
    return index.astype(np.int64) * 64 + code


def _group_min(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row: the minimum of `values` over rows with the same key (NaN ignored)."""
    if keys.size == 0:
        return np.zeros(0)
    _, inverse = np.unique(keys, return_inverse=True)
    minimum = np.full(int(inverse.max()) + 1, np.inf)
    np.fmin.at(minimum, inverse, values)
    result = minimum[inverse]
    result[np.isinf(result)] = np.nan
    return result


def _detail_kind(texts: tuple[str | None, ...]) -> float:
    words: set[str] = set()
    for text in texts:
        if text:
            words.update(tokens(text))
    if not words:
        return np.nan
    for code, keywords in DETAIL_KINDS:
        if words & keywords:
            return code
    return 0.0


def _detail_kinds(items: RecordTable) -> np.ndarray:
    columns = (items.text(c.ITEM_TYPE_NAME), items.text(c.ITEM_CATEGORY), items.text(c.ITEM_VENDOR))
    return np.asarray([_detail_kind(texts) for texts in zip(*columns, strict=True)])


def _agency_flags(vendors: list[str | None]) -> np.ndarray:
    flags = []
    for vendor in vendors:
        if vendor is None:
            flags.append(np.nan)
            continue
        squashed = {word.replace(".", "") for word in vendor.lower().split()}
        flags.append(1.0 if (set(tokens(vendor)) | squashed) & AGENCY_TOKENS else 0.0)
    return np.asarray(flags, dtype=np.float64)


def _opposite_charges(items: RecordTable) -> np.ndarray:
    """Per item: 1 when the same user has an item of the same vendor with exactly −amount."""
    amounts = items.number(c.ITEM_AMOUNT)
    vendors = items.text(c.ITEM_VENDOR)
    seen: dict[tuple[object, str, int], set[bool]] = {}
    keys: list[tuple[object, str, int] | None] = []
    for user, vendor, amount in zip(items.users, vendors, amounts.tolist(), strict=True):
        cents = abs(amount) * 100  # inf for an infinite or huge amount: no charge to pair with
        if vendor is None or not np.isfinite(cents) or amount == 0:
            keys.append(None)
            continue
        key = (user, " ".join(tokens(vendor)), round(cents))
        keys.append(key)
        seen.setdefault(key, set()).add(amount > 0)
    return np.asarray(
        [np.nan if key is None else float(len(seen[key]) == 2) for key in keys], dtype=np.float64
    )
