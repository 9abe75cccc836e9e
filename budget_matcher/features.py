"""The one feature function: candidate pairs → feature matrix.

Used unchanged by training (bem.model.dataset), the Lambda (predict.py) and batch scoring. Every
feature is computed column-wise over all pairs; string similarities are computed once per
distinct pair of normalised strings (see budget_matcher.similarity). Missing inputs give NaN,
which the model handles natively.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import numpy as np

from budget_matcher import contract as c
from budget_matcher.columns import (
    WindowIndex,
    per_distinct,
    rank_within,
    stable_argsort,
    whole_cents,
)
from budget_matcher.context_features import CONTEXT_FEATURE_NAMES, context_features
from budget_matcher.feed_features import FEED_FEATURE_NAMES, feed_features, window_log_ratio
from budget_matcher.pairs import CandidatePairs, RecordTable
from budget_matcher.similarity import VENDOR_MEASURES, code_similarities
from budget_matcher.text import normalised_codes, tokens
from budget_matcher.values import short_text_cache

SECONDS_PER_DAY = 86400.0

# Expense groups by their normalised (stemmed) keywords; the budget type maps to one of them.
TYPE_GROUPS: dict[str, frozenset[str]] = {
    "flight": frozenset({"flight", "air", "airfar", "airlin", "airplan", "plane", "aviat", "fli"}),
    "hotel": frozenset({"hotel", "lodg", "accommod", "motel", "inn", "resort", "room", "stay"}),
    "car": frozenset({"car", "rental", "vehicl", "auto", "rent"}),
    "rail": frozenset({"rail", "train", "amtrak", "railway"}),
    "ground": frozenset({"taxi", "cab", "uber", "lyft", "rideshar", "ride", "shuttl", "park"}),
    "meal": frozenset({"meal", "food", "restaur", "dinner", "lunch", "breakfast", "coffe"}),
}
_EXPENSE_TEXT_FIELDS = (c.ITEM_TYPE_NAME, c.ITEM_CATEGORY, c.EXPENSE_TYPE_NAME, c.EXPENSE_CATEGORY)
GROUP_CODES = {name: float(code) for code, name in enumerate(TYPE_GROUPS)}
OTHER_GROUP = float(len(TYPE_GROUPS))

WINDOW_BEFORE_DAYS = 2.0  # before min(budget creation, trip start)
WINDOW_AFTER_DAYS = 5.0  # after trip end
LATE_WINDOW_AFTER_DAYS = 21.0  # the late window (folios posted weeks after checkout)

_V = TypeVar("_V")


class once(Generic[_V]):
    """`functools.cached_property` without its lock (Python ≤ 3.11 takes an RLock on every
    first access: ~1.5 µs, 30 times in a one-pair request). A PairColumns is used by one
    thread; the value is stored in the instance's __dict__, which later reads find first."""

    def __init__(self, compute: Callable[[Any], _V]) -> None:
        self.compute = compute
        self.name = compute.__name__
        self.__doc__ = compute.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[_V]: ...
    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _V: ...
    def __get__(self, instance: object | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.compute(instance)
        return value


class PairColumns:
    """The per-pair input columns the features share, each computed once on first use."""

    def __init__(self, pairs: CandidatePairs) -> None:
        self.pairs = pairs
        self.b, self.i = pairs.budget_index, pairs.item_index

    @once
    def item_dates(self) -> np.ndarray:
        """Per line item (row): its date (epoch seconds), read once for `date` and `item_days`."""
        return self.pairs.items.number(c.ITEM_DATE)

    @once
    def budget_dates(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per budget (row): its creation, trip start and trip end (epoch seconds), read once
        for the per-pair columns and `budget_windows`."""
        budgets = self.pairs.budgets
        return (
            budgets.number(c.BUDGET_GENERATED_AT),
            budgets.number(c.BUDGET_TRIP_START),
            budgets.number(c.BUDGET_TRIP_END),
        )

    @once
    def vendor_codes(self) -> tuple[np.ndarray, list[np.ndarray], list[str]]:
        """Normalised vendor codes (budget_matcher.text) per line item and per budget of each
        budget vendor field, in one vocabulary; the normalised strings by code."""
        budgets, vocabulary = self.pairs.budgets, dict[str, int]()
        items = normalised_codes(self.pairs.items.distinct_text(c.ITEM_VENDOR), vocabulary)
        fields = (c.BUDGET_TRAVEL_VENDOR, c.BUDGET_PURCHASE_VENDOR)
        budget_fields = [
            normalised_codes(budgets.distinct_text(name), vocabulary) for name in fields
        ]
        return items, budget_fields, list(vocabulary)

    @once
    def item_vendor(self) -> np.ndarray:
        """Per line item (row): its normalised vendor's code."""
        return self.vendor_codes[0]

    @once
    def vendors(self) -> np.ndarray:
        items, budget_fields, strings = self.vendor_codes
        return code_similarities(budget_fields, items, strings, self.b, self.i)

    @once
    def items_amount(self) -> np.ndarray:
        """Per line item (row): its amount."""
        return self.pairs.items.number(c.ITEM_AMOUNT)

    @once
    def item_cents(self) -> np.ndarray:
        """Per line item (row): its amount in whole cents (budget_matcher.columns.whole_cents),
        shared by the window sums."""
        return whole_cents(self.items_amount)

    @once
    def amount(self) -> np.ndarray:
        return self.items_amount[self.i]

    @once
    def date(self) -> np.ndarray:
        return self.item_dates[self.i]

    @once
    def budget_costs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per budget (row): its actual cost, its budgeted price, and the cost (the actual
        cost, else the budgeted price)."""
        actual = self.pairs.budgets.number(c.BUDGET_ACTUAL_COST)
        budgeted = self.pairs.budgets.number(c.BUDGET_PRICE)
        return actual, budgeted, np.where(np.isnan(actual), budgeted, actual)

    @once
    def actual(self) -> np.ndarray:
        return self.budget_costs[0][self.b]

    @once
    def budgeted(self) -> np.ndarray:
        return self.budget_costs[1][self.b]

    @once
    def log_amount(self) -> np.ndarray:
        """ln(1+|amount|), computed per line item and gathered per pair."""
        return np.log1p(np.abs(self.items_amount))[self.i]

    @once
    def budget_log_costs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per budget (row): ln(1+|x|) of `budget_costs`' three columns, two logarithms per row
        (the cost's is the actual cost's, else the budgeted price's)."""
        actual, budgeted, _ = self.budget_costs
        log_actual, log_budgeted = np.log1p(np.abs(actual)), np.log1p(np.abs(budgeted))
        return log_actual, log_budgeted, np.where(np.isnan(log_actual), log_budgeted, log_actual)

    @once
    def log_cost(self) -> np.ndarray:
        """ln(1+|cost|), computed per budget and gathered per pair."""
        return self.budget_log_costs[2][self.b]

    @once
    def start(self) -> np.ndarray:
        return self.budget_dates[1][self.b]

    @once
    def end(self) -> np.ndarray:
        return self.budget_dates[2][self.b]

    @once
    def created(self) -> np.ndarray:
        return self.budget_dates[0][self.b]

    @once
    def to_actual(self) -> tuple[np.ndarray, np.ndarray]:
        log_actual = self.budget_log_costs[0][self.b]
        return _amount_distance(self.amount, self.actual, self.log_amount, log_actual)

    @once
    def to_budgeted(self) -> tuple[np.ndarray, np.ndarray]:
        log_budgeted = self.budget_log_costs[1][self.b]
        return _amount_distance(self.amount, self.budgeted, self.log_amount, log_budgeted)

    @once
    def closeness(self) -> np.ndarray:
        """|log ratio| to the actual cost, or to the budgeted price when the cost is unknown."""
        log_actual, log_budgeted = self.to_actual[1], self.to_budgeted[1]
        return np.abs(np.where(np.isnan(log_actual), log_budgeted, log_actual))

    @once
    def closeness_order(self) -> np.ndarray:
        """Pairs by ascending closeness (stable): shared by the two amount ranks."""
        return stable_argsort(self.closeness)

    @once
    def days_outside(self) -> np.ndarray:
        """Days before the trip's start (< 0) or after its end (> 0), 0 inside."""
        return _days_outside_trip(self)

    @once
    def since_created(self) -> np.ndarray:
        """Days from the budget's creation to the charge."""
        return (self.date - self.created) / SECONDS_PER_DAY

    @once
    def from_start(self) -> np.ndarray:
        return (self.date - self.start) / SECONDS_PER_DAY

    @once
    def from_end(self) -> np.ndarray:
        return (self.date - self.end) / SECONDS_PER_DAY

    @once
    def budget_groups(self) -> np.ndarray:
        """Per budget (row): the expense group its type names."""
        return per_distinct(self.pairs.budgets.distinct_text(c.BUDGET_TYPE), _group_of)

    @once
    def item_groups(self) -> np.ndarray:
        """Per line item (row): its expense group."""
        return _expense_groups(self.pairs.items)

    @once
    def budget_group(self) -> np.ndarray:
        return self.budget_groups[self.b]

    @once
    def expense_group(self) -> np.ndarray:
        return self.item_groups[self.i]

    @once
    def item_users(self) -> np.ndarray:
        """Per line item (row): its user's place in the request (ids may repeat or be absent)."""
        return np.asarray(self.pairs.items.groups, dtype=np.int64)

    @once
    def item_days(self) -> np.ndarray:
        """Per line item (row): its date in days."""
        return self.item_dates / SECONDS_PER_DAY

    @once
    def cost(self) -> np.ndarray:
        """The booked cost, else the budgeted price."""
        return self.budget_costs[2][self.b]

    @once
    def budget_windows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per budget (row), its window in days: [min(created, start) − 2 d, end + 5 d], and
        the late window's end (end + 21 d)."""
        created, start, end_seconds = self.budget_dates
        low = np.fmin(created, start) / SECONDS_PER_DAY - WINDOW_BEFORE_DAYS
        end = end_seconds / SECONDS_PER_DAY
        return low, end + WINDOW_AFTER_DAYS, end + LATE_WINDOW_AFTER_DAYS

    @once
    def window(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per pair, its budget's window (`budget_windows`)."""
        low, high, late_high = self.budget_windows
        return low[self.b], high[self.b], late_high[self.b]

    @once
    def vendor_window_sums(self) -> list[np.ndarray]:
        """Per pair (b, i): Σ amounts of the user's items (b's candidates) with i's normalised
        vendor dated in b's window, in its late window, and on i's own (UTC) day: what was
        posted with it (NaN without vendor or date)."""
        low, high, late_high = self.budget_windows
        vendor, days = self.item_vendor, self.item_days
        items = WindowIndex(self.item_users, vendor, days, self.items_amount, self.item_cents)
        sums = items.sums(self.item_users, vendor, low, (high, late_high), (self.i, self.b))
        day_start = np.floor(days)
        day_end = np.nextafter(day_start + 1.0, day_start)  # the last instant before midnight
        sums.append(items.sums(self.item_users, vendor, day_start, (day_end,))[0][self.i])
        unknown = ((vendor < 0) | np.isnan(days))[self.i]
        for total in sums:
            total[unknown] = np.nan
        return sums

    @once
    def feed(self) -> np.ndarray:
        """A charge among the user's other charges: FEED_FEATURE_NAMES, one row each."""
        _, late, same_day = self.vendor_window_sums
        return feed_features(self, late, same_day)

    @once
    def context(self) -> np.ndarray:
        """The pair among its competitors: CONTEXT_FEATURE_NAMES, one row each."""
        return context_features(
            self.pairs,
            self.days_outside,
            self.since_created,
            self.closeness,
            self.budget_group,
            self.expense_group,
            self.item_vendor,
        )


def _days_outside_trip(x: PairColumns) -> np.ndarray:
    from_start, from_end = x.from_start, x.from_end
    outside = np.where(from_start < 0, from_start, np.where(from_end > 0, from_end, 0.0))
    outside[np.isnan(from_start) & np.isnan(from_end)] = np.nan
    return outside


def _type_match(x: PairColumns) -> np.ndarray:
    match = (x.budget_group == x.expense_group).astype(np.float64)
    match[np.isnan(x.budget_group) | np.isnan(x.expense_group)] = np.nan
    return match


def _vendor_window_sum_log_ratio(x: PairColumns) -> np.ndarray:
    """Per pair (b, i): ln(1+|S|) − ln(1+|cost|), S = Σ amounts of b's candidate items with i's
    normalised vendor dated in b's window; NaN when i has no vendor or date, b no window or no
    cost. Pairs of b are exactly its user's items, so the sum runs over b's pairs."""
    low, high, _ = x.window
    return window_log_ratio(x.vendor_window_sums[0], x.log_cost, low, high)


def _vendor_column(k: int) -> Callable[[PairColumns], np.ndarray]:
    return lambda x: x.vendors[:, k]


def _context_column(k: int) -> Callable[[PairColumns], np.ndarray]:
    return lambda x: x.context[k]


def _feed_column(k: int) -> Callable[[PairColumns], np.ndarray]:
    return lambda x: x.feed[k]


Feature = tuple[str, Callable[[PairColumns], np.ndarray]]

# Each feature's name paired with its computation: the column order is this order.
FEATURES: tuple[Feature, ...] = (
    *((f"vendor_{name}", _vendor_column(k)) for k, name in enumerate(VENDOR_MEASURES)),
    ("amount_rel_diff_actual", lambda x: x.to_actual[0]),
    ("amount_log_ratio_actual", lambda x: x.to_actual[1]),
    ("amount_rel_diff_budgeted", lambda x: x.to_budgeted[0]),
    ("amount_log_ratio_budgeted", lambda x: x.to_budgeted[1]),
    (
        "amount_is_refund",
        lambda x: np.where(np.isnan(x.amount), np.nan, (x.amount < 0).astype(np.float64)),
    ),
    ("days_outside_trip", lambda x: x.days_outside),
    ("days_from_trip_start", lambda x: x.from_start),
    ("days_from_trip_end", lambda x: x.from_end),
    ("days_since_budget_created", lambda x: x.since_created),
    ("trip_length_days", lambda x: (x.end - x.start) / SECONDS_PER_DAY),
    ("type_match", _type_match),
    ("budget_type_group", lambda x: x.budget_group),
    ("expense_type_group", lambda x: x.expense_group),
    ("amount_rank_in_budget", lambda x: rank_within(x.b, x.closeness, x.closeness_order)),
    (
        "vendor_rank_in_budget",
        lambda x: rank_within(x.b, -x.vendors[:, VENDOR_MEASURES.index("monge_elkan")]),
    ),
    ("amount_rank_in_item", lambda x: rank_within(x.i, x.closeness, x.closeness_order)),
    # ln(1+|Σ same-vendor charges in the budget's window|) − ln(1+|cost|): split tickets, folio
    # lines and refunds are each a fraction of the booked cost but together add up to it.
    ("vendor_window_sum_log_ratio", _vendor_window_sum_log_ratio),
    # A pair among its competitors (budget_matcher.context_features).
    *((name, _context_column(k)) for k, name in enumerate(CONTEXT_FEATURE_NAMES)),
    # A charge among the user's other charges (budget_matcher.feed_features).
    *((name, _feed_column(k)) for k, name in enumerate(FEED_FEATURE_NAMES)),
)
FEATURE_NAMES: tuple[str, ...] = tuple(name for name, _ in FEATURES)


def compute_features(pairs: CandidatePairs) -> np.ndarray:
    """The feature matrix (n_pairs × len(FEATURE_NAMES), float64, NaN = missing), stored
    feature-major (Fortran order: each column contiguous, as it is computed and as the compiled
    trees read it)."""
    if len(pairs) == 0:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float64, order="F")
    columns = PairColumns(pairs)
    by_feature = np.empty((len(FEATURES), len(pairs)), dtype=np.float64)
    for row, (_, compute) in enumerate(FEATURES):
        by_feature[row] = compute(columns)
    return by_feature.T


def _amount_distance(
    amount: np.ndarray, reference: np.ndarray, log_amount: np.ndarray, log_reference: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Relative difference |a − r| / max(|r|, 1) and signed log ratio ln(1+|a|) − ln(1+|r|)
    (`log_amount` = ln(1+|a|) and `log_reference` = ln(1+|r|), computed per row)."""
    relative = np.abs(amount - reference) / np.maximum(np.abs(reference), 1.0)
    return relative, log_amount - log_reference


@short_text_cache
def _group_of(text: str | None) -> float:
    """The code of the first expense group whose keywords appear in `text` (NaN if no text)."""
    if text is None:
        return np.nan
    words = set(tokens(text))
    if not words:
        return np.nan
    for name, keywords in TYPE_GROUPS.items():
        if words & keywords:
            return GROUP_CODES[name]
    return OTHER_GROUP


def _expense_groups(items: RecordTable) -> np.ndarray:
    """Per line item: the first known group among the itemization's type/category and the
    expense's; OTHER only when no text names a known group; NaN when no text has words."""
    groups = np.asarray(
        [per_distinct(items.distinct_text(name), _group_of) for name in _EXPENSE_TEXT_FIELDS]
    )
    result = np.where((groups == OTHER_GROUP).any(axis=0), OTHER_GROUP, np.nan)
    known = ~np.isnan(groups) & (groups != OTHER_GROUP)
    for field in reversed(range(len(_EXPENSE_TEXT_FIELDS))):  # the first known field wins
        np.copyto(result, groups[field], where=known[field])
    return result
