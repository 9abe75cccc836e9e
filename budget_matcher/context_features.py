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
                               2 tax, 3 fee, 4 incidental (minibar, room service, parking,
                               tolls, fuel…), 5 fare change, 6 resort or destination fee,
                               7 cabin upgrade, 8 hold or deposit, 9 seat or boarding,
                               10 cancellation or no-show, 11 adjustment or extra day
  vendor_is_agency             the item's vendor names a travel agency or online booking site
  item_has_opposite_charge     another item of the user, same vendor, has exactly −amount
                               (a cancelled charge and its credit)
"""

from __future__ import annotations

import numpy as np

from budget_matcher import contract as c
from budget_matcher.columns import DENSE_MAX_SIZE, group_min, per_distinct
from budget_matcher.pairs import CandidatePairs, RecordTable
from budget_matcher.text import tokens
from budget_matcher.values import short_text_cache

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
# The first kind named wins: a "Seat Selection" is a seat (9) before any fee (3).
DETAIL_KINDS: tuple[tuple[float, frozenset[str]], ...] = (
    (
        4.0,
        frozenset(
            {"minibar", "laundri", "breakfast", "servic", "internet", "wifi", "park", "toll"}
            | {"platepass", "fuel", "refuel", "gasolin"}
        ),
    ),
    (7.0, frozenset({"upgrad"})),
    (8.0, frozenset({"author", "deposit", "hold"})),
    (9.0, frozenset({"seat", "board", "legroom", "sitzplatzreservierung"})),
    (10.0, frozenset({"cancel", "show"})),
    (5.0, frozenset({"chang", "exchang", "differ", "reissu", "rebook"})),
    (11.0, frozenset({"adjust", "extra"})),
    (6.0, frozenset({"resort", "destin", "amen"})),
    (3.0, frozenset({"fee", "surcharg", "bank", "transact", "baggag", "bag", "penalti"})),
    (2.0, frozenset({"tax", "vat", "levi", "occup", "tourism", "sejour"})),
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
    item_vendor: np.ndarray,
) -> np.ndarray:
    """The columns of CONTEXT_FEATURE_NAMES (one row each), from per-pair days outside the
    trip, days since the budget's creation, amount closeness (≥ 0) and the type groups of both
    sides, and per line item its normalised vendor's code (−1 for none), all as computed by
    budget_matcher.features."""
    i = pairs.item_index
    groups = _group_keys(i, budget_group)
    created = np.abs(created_days)
    timing = np.fmin(np.abs(outside_days), created)
    in_budget = _group_keys(pairs.budget_index, expense_group)
    items = pairs.items
    detail = _detail_kinds(items)[i]
    agency = per_distinct(items.distinct_text(c.ITEM_VENDOR), _is_agency)[i]
    opposite = _opposite_charges(items, item_vendor)[i]
    columns = np.empty((len(CONTEXT_FEATURE_NAMES), i.size))
    columns[0] = timing - group_min(groups, timing)
    columns[1] = created - group_min(groups, created)
    columns[2] = amount_closeness - group_min(groups, amount_closeness)
    columns[3] = timing - group_min(in_budget, timing)
    columns[4], columns[5], columns[6] = detail, agency, opposite
    return columns


def _group_keys(index: np.ndarray, group: np.ndarray) -> np.ndarray:
    """One code per (row index, type group); a NaN group is a group of its own."""
    code = np.fmax(group, -1.0).astype(np.int64) + 1  # NaN → −1 (group codes are ≥ 0)
    return index.astype(np.int64) * (int(code.max(initial=0)) + 1) + code


# Each keyword's DETAIL_KINDS bits (bit k + 1 for DETAIL_KINDS[k]; a word may name several).
_KIND_BITS_OF_WORD: dict[str, int] = {}
for _k, (_, _keywords) in enumerate(DETAIL_KINDS):
    for _word in _keywords:
        _KIND_BITS_OF_WORD[_word] = _KIND_BITS_OF_WORD.get(_word, 0) | 2 << _k


@short_text_cache
def _detail_bits(text: str | None) -> int:
    """Bit 0: the text has words; bit k + 1: they name DETAIL_KINDS[k]."""
    words = tokens(text) if text else ()
    bits = int(bool(words))
    for word in words:
        bits |= _KIND_BITS_OF_WORD.get(word, 0)
    return bits


def _kind_of_bits(bits: int) -> float:
    """The kind of a line whose texts together have `bits` (see _detail_bits)."""
    if not bits:
        return np.nan
    for k, (code, _) in enumerate(DETAIL_KINDS):
        if bits & (2 << k):
            return code
    return 0.0


_KIND_OF_BITS = np.asarray([_kind_of_bits(bits) for bits in range(2 << len(DETAIL_KINDS))])


def _detail_kinds(items: RecordTable) -> np.ndarray:
    """Per item: the first of DETAIL_KINDS named by the words of its type, category and vendor
    together; 0 when they name none, NaN when they have no words."""
    bits = np.zeros(len(items), dtype=np.int64)
    for name in (c.ITEM_TYPE_NAME, c.ITEM_CATEGORY, c.ITEM_VENDOR):
        bits |= per_distinct(items.distinct_text(name), _detail_bits).astype(np.int64)
    return _KIND_OF_BITS[bits]


@short_text_cache
def _is_agency(vendor: str | None) -> float:
    """1 when the vendor's words (normalised, or as written without dots) name an agency."""
    if vendor is None:
        return np.nan
    squashed = vendor.lower().replace(".", "").split()
    return 0.0 if AGENCY_TOKENS.isdisjoint(squashed + list(tokens(vendor))) else 1.0


def _largest_in_cents() -> float:
    """The largest double x for which x × 100 is finite (× 100 is monotone)."""
    largest = np.nextafter(np.finfo(np.float64).max / 100, 0.0)
    with np.errstate(over="ignore"):
        while not np.isfinite(largest * 100):
            largest = np.nextafter(largest, 0.0)
        while np.isfinite(np.nextafter(largest, np.inf) * 100):
            largest = np.nextafter(largest, np.inf)
    return float(largest)


_LARGEST_IN_CENTS = _largest_in_cents()


def _opposite_charges(items: RecordTable, vendors: np.ndarray) -> np.ndarray:
    """Per item: 1 when the same user has an item of the same normalised vendor (`vendors`:
    codes, −1 for a vendor without words) with exactly −amount; NaN without vendor or amount."""
    amounts = items.number(c.ITEM_AMOUNT)
    users = np.asarray(items.groups, dtype=np.int64)  # the request's users, even with equal ids
    present = np.asarray([text is not None for text in items.text(c.ITEM_VENDOR)], dtype=bool)
    magnitude = np.abs(amounts)
    # whole cents (np.round to 0 decimals); an amount whose cents overflow (or NaN) pairs with
    # none: `magnitude <= _LARGEST_IN_CENTS` is exactly "|amount| × 100 is finite"
    cents = np.rint(np.minimum(magnitude, _LARGEST_IN_CENTS) * 100)
    rows = (present & (magnitude <= _LARGEST_IN_CENTS) & (amounts != 0)).nonzero()[0]
    result = np.empty(len(items))
    result.fill(np.nan)
    if rows.size == 0:
        return result
    if rows.size <= DENSE_MAX_SIZE:  # a few items: each against each, the groups as below
        user, vendor, amount = users[rows], vendors[rows], cents[rows]
        same = (user[:, None] == user) & (vendor[:, None] == vendor) & (amount[:, None] == amount)
        positive = amounts[rows] > 0
        # a boolean dot is `(same & positive).any(axis=1)` without the reduction's set-up
        both = same.dot(positive) & same.dot(~positive)
        result[rows] = both.astype(np.float64)
        return result
    # one group per (user, vendor, cents): an opposite charge is a group holding both signs
    order = rows[np.lexsort((cents[rows], vendors[rows], users[rows]))]
    new_key = np.zeros(order.size, dtype=bool)
    new_key[0] = True
    for key in (users[order], vendors[order], cents[order]):
        new_key[1:] |= key[1:] != key[:-1]
    starts = new_key.nonzero()[0]
    positive = amounts[order] > 0
    has_positive = np.logical_or.reduceat(positive, starts)
    has_negative = np.logical_or.reduceat(~positive, starts)
    group = new_key.cumsum() - 1  # each sorted row's group
    result[order] = (has_positive & has_negative)[group].astype(np.float64)
    return result
